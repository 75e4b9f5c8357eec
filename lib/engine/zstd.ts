/**
 * zstd for writers and readers: the writer's compressor cuts what is written into frames of one
 * part each (a valid multi-frame .zst that `zstd -d` reads), and `decompressFrames` reads such a
 * file back, frame by frame, into one buffer. The codec is the zstd WebAssembly build, loaded on
 * first use.
 */
import type * as ZstdWasm from '@bokuweb/zstd-wasm';
import { constants as bufferConstants } from 'buffer';

import { S3dlioError } from '../errors';
import { assertAttached } from '../internal/memory';

type ZstdModule = typeof ZstdWasm;
let zstd: Promise<ZstdModule> | undefined;
/** The zstd WebAssembly build, loaded and initialised on first use. */
function loadZstd(): Promise<ZstdModule> {
  zstd ??= (async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require('@bokuweb/zstd-wasm') as ZstdModule;
    await module.init();
    return module;
  })();
  return zstd;
}

/** Cuts the input into frames of `frameSize` and compresses each one (concatenated frames are a valid .zst). */
export class ZstdFrames {
  private buffer: Uint8Array;
  private filled = 0;

  constructor(
    private readonly frameSize: number,
    private readonly level: number,
  ) {
    this.buffer = new Uint8Array(frameSize);
  }

  async push(bytes: Uint8Array): Promise<Uint8Array[]> {
    const frames: Uint8Array[] = [];
    const length = bytes.byteLength;
    let rest = bytes;
    while (rest.byteLength > 0) {
      const take = Math.min(rest.byteLength, this.frameSize - this.filled);
      this.buffer.set(rest.subarray(0, take), this.filled);
      this.filled += take;
      rest = rest.subarray(take);
      if (this.filled === this.frameSize) {
        const pending = rest.byteLength; // read now: a detached view reads as 0 bytes
        frames.push(await this.frame());
        if (pending > 0) assertAttached(bytes, length, 'chunk');
      }
    }
    return frames;
  }

  async flush(): Promise<Uint8Array> {
    return this.filled > 0 ? this.frame() : new Uint8Array(0);
  }

  private async frame(): Promise<Uint8Array> {
    const { compress } = await loadZstd();
    const compressed = compress(Buffer.from(this.buffer.buffer, this.buffer.byteOffset, this.filled), this.level);
    this.filled = 0;
    return compressed;
  }
}

const FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames: magic 0x184D2A50 to 0x184D2A5F, then a 4-byte length. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** One frame of a .zst: where it is, and the size its header declares (undefined: not declared). */
interface FrameSpan {
  start: number;
  end: number;
  contentSize: number | undefined;
}

/**
 * The frames of a .zst, found from their headers and block headers (RFC 8878) without
 * decompressing: the codec's one-shot API needs each frame alone, with its size.
 */
function framesOf(bytes: Uint8Array, bad: (problem: string) => S3dlioError): FrameSpan[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (at: number, count: number): void => {
    if (at + count > bytes.byteLength) throw bad(`it ends inside a frame (byte ${bytes.byteLength})`);
  };
  const frames: FrameSpan[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    need(at, 4);
    const magic = view.getUint32(at, true);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(at + 4, 4);
      at += 8 + view.getUint32(at + 4, true);
      need(at, 0);
      continue;
    }
    if (magic !== FRAME_MAGIC) throw bad(`no zstd frame at byte ${at}`);
    const start = at;
    need(at + 4, 1);
    const descriptor = bytes[at + 4];
    const fcsFlag = descriptor >> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    const hasChecksum = (descriptor & 0x04) !== 0;
    const dictionaryIdSize = [0, 1, 2, 4][descriptor & 0x03];
    const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag];
    at += 5 + (singleSegment ? 0 : 1) + dictionaryIdSize;
    need(at, fcsSize);
    let contentSize: number | undefined;
    if (fcsSize === 1) contentSize = bytes[at];
    else if (fcsSize === 2) contentSize = view.getUint16(at, true) + 256;
    else if (fcsSize === 4) contentSize = view.getUint32(at, true);
    else if (fcsSize === 8) contentSize = Number(view.getBigUint64(at, true));
    at += fcsSize;
    for (let last = false; !last;) {
      need(at, 3);
      const header = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      if (type === 3) throw bad(`a reserved block type at byte ${at}`);
      at += 3 + (type === 1 ? 1 : header >>> 3); // an RLE block stores its one byte
      need(at, 0);
    }
    if (hasChecksum) at += 4;
    need(at, 0);
    frames.push({ start, end: at, contentSize });
  }
  return frames;
}

/**
 * The bytes a multi-frame .zst holds (as the writers make them), in one buffer. Every frame must
 * declare its size (ours do); anything else is ERR_BAD_FORMAT naming `uri`.
 */
export async function decompressFrames(bytes: Uint8Array, uri: string, operation: string): Promise<Uint8Array> {
  const bad = (problem: string, cause?: unknown): S3dlioError =>
    new S3dlioError('ERR_BAD_FORMAT', `${operation} ${uri}: not a zstd file this library reads: ${problem}`, {
      uri,
      operation,
      cause,
    });
  const frames = framesOf(bytes, bad);
  let total = 0;
  for (const frame of frames) {
    if (frame.contentSize === undefined) throw bad(`the frame at byte ${frame.start} does not declare its size`);
    total += frame.contentSize;
  }
  if (total > bufferConstants.MAX_LENGTH) {
    throw new S3dlioError(
      'ERR_OBJECT_TOO_LARGE',
      `${operation} ${uri}: ${total} bytes decompressed do not fit one buffer`,
      {
        uri,
        operation,
      },
    );
  }
  const { decompress } = await loadZstd();
  const output = new Uint8Array(total);
  let filled = 0;
  for (const frame of frames) {
    const size = frame.contentSize as number;
    let plain: Uint8Array;
    try {
      plain = decompress(bytes.subarray(frame.start, frame.end), { defaultHeapSize: Math.max(size, 1) });
    } catch (error) {
      throw bad(`the frame at byte ${frame.start} does not decompress`, error);
    }
    if (plain.byteLength !== size)
      throw bad(`the frame at byte ${frame.start} holds ${plain.byteLength} bytes, not ${size}`);
    output.set(plain, filled);
    filled += size;
  }
  return output;
}
