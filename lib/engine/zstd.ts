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
import { compressOffThread } from './zstd-thread';

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

/** One zstd frame holding `bytes` (its size declared in the header). */
export async function compressFrame(bytes: Uint8Array, level: number): Promise<Uint8Array> {
  const { compress } = await loadZstd();
  return compress(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), level);
}

/** Frames compressing at once: the next one fills (and the last one uploads) while one compresses. */
const FRAMES_IN_FLIGHT = 2;

/**
 * Cuts the input into frames of `frameSize` and compresses each one on the compression thread
 * (concatenated frames are a valid .zst), in order. Memory: the frame being filled and up to
 * FRAMES_IN_FLIGHT copies in compression.
 */
export class ZstdFrames {
  private buffer: Uint8Array;
  private filled = 0;
  private readonly compressing: Array<Promise<Uint8Array>> = [];

  constructor(
    private readonly frameSize: number,
    private readonly level: number,
  ) {
    this.buffer = new Uint8Array(frameSize);
  }

  /** Takes `bytes`; the frames whose compression is done, in order. */
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
        this.startFrame();
        if (this.compressing.length >= FRAMES_IN_FLIGHT) {
          const pending = rest.byteLength; // read now: a detached view reads as 0 bytes
          frames.push(await (this.compressing.shift() as Promise<Uint8Array>));
          if (pending > 0) assertAttached(bytes, length, 'chunk');
        }
      }
    }
    return frames;
  }

  /** Every frame still owed, the last (short) one included, in order. */
  async flush(): Promise<Uint8Array[]> {
    if (this.filled > 0) this.startFrame();
    const frames: Uint8Array[] = [];
    while (this.compressing.length > 0) frames.push(await (this.compressing.shift() as Promise<Uint8Array>));
    return frames;
  }

  private startFrame(): void {
    // A copy goes to the compression thread (transferred): this thread's event loop runs on.
    const frame = compressOffThread(this.buffer.slice(0, this.filled), this.level);
    // Awaited in order later, where a failure surfaces; until then it must not count as unhandled.
    frame.catch(() => undefined);
    this.compressing.push(frame);
    this.filled = 0;
  }
}

const FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames: magic 0x184D2A50 to 0x184D2A5F, then a 4-byte length. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

/** One frame of a .zst: where it is, the size its header declares (undefined: not declared), and a bound on it. */
export interface FrameSpan {
  start: number;
  end: number;
  contentSize: number | undefined;
  /** What its blocks can hold at most (raw and RLE blocks exactly, compressed ones 128 KiB each). */
  maxSize: number;
  /** A skippable frame (no content). */
  skippable: boolean;
}

/** The largest a compressed block decompresses to (RFC 8878 Block_Maximum_Size). */
const MAX_BLOCK_SIZE = 128 * 1024;

/**
 * The frame starting at `at`, found from its header and block headers (RFC 8878) without
 * decompressing, or undefined when `bytes` ends inside it. What is not a frame throws `bad`.
 */
export function frameAt(bytes: Uint8Array, at: number, bad: (problem: string) => S3dlioError): FrameSpan | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const has = (from: number, count: number): boolean => from + count <= bytes.byteLength;
  const start = at;
  if (!has(at, 4)) return undefined;
  const magic = view.getUint32(at, true);
  if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
    if (!has(at, 8)) return undefined;
    const end = at + 8 + view.getUint32(at + 4, true);
    return has(end, 0) ? { start, end, contentSize: 0, maxSize: 0, skippable: true } : undefined;
  }
  if (magic !== FRAME_MAGIC) throw bad(`no zstd frame at byte ${at}`);
  if (!has(at + 4, 1)) return undefined;
  const descriptor = bytes[at + 4];
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const hasChecksum = (descriptor & 0x04) !== 0;
  const dictionaryIdSize = [0, 1, 2, 4][descriptor & 0x03];
  const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag];
  at += 5 + (singleSegment ? 0 : 1) + dictionaryIdSize;
  if (!has(at, fcsSize)) return undefined;
  let contentSize: number | undefined;
  if (fcsSize === 1) contentSize = bytes[at];
  else if (fcsSize === 2) contentSize = view.getUint16(at, true) + 256;
  else if (fcsSize === 4) contentSize = view.getUint32(at, true);
  else if (fcsSize === 8) contentSize = Number(view.getBigUint64(at, true));
  at += fcsSize;
  let maxSize = 0;
  for (let last = false; !last;) {
    if (!has(at, 3)) return undefined;
    const header = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
    last = (header & 1) === 1;
    const type = (header >> 1) & 3;
    if (type === 3) throw bad(`a reserved block type at byte ${at}`);
    const size = header >>> 3;
    maxSize += type === 2 ? MAX_BLOCK_SIZE : size;
    at += 3 + (type === 1 ? 1 : size); // an RLE block stores its one byte
    if (!has(at, 0)) return undefined;
  }
  if (hasChecksum) at += 4;
  return has(at, 0) ? { start, end: at, contentSize, maxSize, skippable: false } : undefined;
}

/** The frames of a whole .zst. */
function framesOf(bytes: Uint8Array, bad: (problem: string) => S3dlioError): FrameSpan[] {
  const frames: FrameSpan[] = [];
  for (let at = 0; at < bytes.byteLength;) {
    const frame = frameAt(bytes, at, bad);
    if (frame === undefined) throw bad(`it ends inside a frame (byte ${bytes.byteLength})`);
    if (!frame.skippable) frames.push(frame);
    at = frame.end;
  }
  return frames;
}

/**
 * The content of one frame (`frame.start` to `frame.end` of `bytes`): its declared size is
 * checked; a frame that declares none (a streaming compressor's) is bounded by its blocks.
 */
export async function decompressFrame(
  bytes: Uint8Array,
  frame: FrameSpan,
  bad: (problem: string, cause?: unknown) => S3dlioError,
): Promise<Uint8Array> {
  const { decompress } = await loadZstd();
  const capacity = frame.contentSize ?? frame.maxSize;
  let plain: Uint8Array;
  try {
    plain = decompress(bytes.subarray(frame.start, frame.end), { defaultHeapSize: Math.max(capacity, 1) });
  } catch (error) {
    throw bad(`the frame at byte ${frame.start} does not decompress`, error);
  }
  if (frame.contentSize !== undefined && plain.byteLength !== frame.contentSize)
    throw bad(`the frame at byte ${frame.start} holds ${plain.byteLength} bytes, not ${frame.contentSize}`);
  return plain;
}

/**
 * The bytes a multi-frame .zst holds (as the writers make them, or any zstd stream), in one
 * buffer; anything else is ERR_BAD_FORMAT naming `uri`.
 */
export async function decompressFrames(bytes: Uint8Array, uri: string, operation: string): Promise<Uint8Array> {
  const bad = (problem: string, cause?: unknown): S3dlioError =>
    new S3dlioError('ERR_BAD_FORMAT', `${operation} ${uri}: not a zstd file this library reads: ${problem}`, {
      uri,
      operation,
      cause,
    });
  const frames = framesOf(bytes, bad);
  let bound = 0;
  for (const frame of frames) bound += frame.contentSize ?? frame.maxSize;
  if (bound > bufferConstants.MAX_LENGTH) {
    throw new S3dlioError(
      'ERR_OBJECT_TOO_LARGE',
      `${operation} ${uri}: ${bound} bytes decompressed do not fit one buffer`,
      {
        uri,
        operation,
      },
    );
  }
  if (frames.every((frame) => frame.contentSize !== undefined)) {
    // Every size known (the writers' files): one buffer, each frame copied in as it is decompressed.
    const output = new Uint8Array(bound);
    let filled = 0;
    for (const frame of frames) {
      output.set(await decompressFrame(bytes, frame, bad), filled);
      filled += frame.contentSize as number;
    }
    return output;
  }
  const parts: Uint8Array[] = [];
  for (const frame of frames) parts.push(await decompressFrame(bytes, frame, bad));
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
