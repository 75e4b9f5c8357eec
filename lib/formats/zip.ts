/**
 * A minimal ZIP archive writer and reader (PKWARE APPNOTE 6.3), enough for `.npz` files: the
 * writer stores entries uncompressed, the reader takes stored and deflated entries. ZIP64 is not
 * implemented: archives over 4 GiB or 65,535 entries are refused with a typed error.
 */
import { crc32, inflateRawSync } from 'zlib';

import { S3dlioError } from '../errors';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import { expectArray, invalidType, invalidValue, optionalBoolean } from '../validate';
import { badFormat, expectBytes, formatCount } from './common';

/** One file to put in an archive; `data` may be given in chunks (written back to back, not joined first). */
export interface ZipEntryInput {
  /** Path inside the archive (UTF-8, `/` separated). */
  name: string;
  /** The file's bytes. */
  data: Uint8Array | readonly Uint8Array[];
}

/** Options of {@link encodeZip}. */
export interface ZipWriteOptions {
  /**
   * Every entry's data starts at a multiple of this many bytes from the start of the archive
   * (a power of two up to 4096; default 64; 1 = no padding). Padding goes in an extra field of the
   * local header (ID 0xD935, as Android's zipalign does), which every ZIP reader skips. With the
   * 64-byte alignment of `.npy` data, arrays in an `.npz` can be read without copying.
   */
  align?: number;
}

/** One file read from an archive. */
export interface ZipEntry {
  /** Path inside the archive. */
  name: string;
  /** How the archive stored it. */
  method: 'stored' | 'deflated';
  /** CRC-32 the archive records for the uncompressed bytes. */
  crc32: number;
  /** Bytes the entry occupies in the archive. */
  compressedSize: number;
  /** The file's bytes: a view of the archive for stored entries, new memory for deflated ones. */
  data: Uint8Array;
}

/** Options of {@link readZip}. */
export interface ZipReadOptions {
  /** Check each entry's CRC-32 (default true): `ERR_CHECKSUM_MISMATCH` on a difference. */
  verify?: boolean;
}

const WRITE_KEYS = optionKeys<ZipWriteOptions>()({ align: true });
const READ_KEYS = optionKeys<ZipReadOptions>()({ verify: true });

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
const END_SIZE = 22;
/** 0xFFFFFFFF and 0xFFFF are ZIP64 markers in the classic fields, so the largest real values are one less. */
const MAX_OFFSET = 0xfffffffe;
const MAX_ENTRIES = 0xffff;
const ALIGNMENT_EXTRA_ID = 0xd935;
/** Version 2.0: the baseline every reader supports (stored and deflated, no ZIP64). */
const VERSION = 20;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_UTF8 = 0x0800;
/** 1980-01-01 00:00:00 in MS-DOS format: fixed, so the same inputs give the same archive bytes. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const DOS_TIME = 0;

interface PlannedEntry {
  name: Uint8Array;
  utf8: boolean;
  chunks: readonly Uint8Array[];
  size: number;
  crc: number;
  offset: number;
  padding: number;
}

/** Padding so that data at `position + padding` is aligned; an extra field needs at least 6 bytes. */
function paddingFor(position: number, align: number): number {
  let padding = (align - (position % align)) % align;
  while (padding !== 0 && padding < 6) padding += align;
  return padding;
}

/**
 * Builds a ZIP archive of stored (uncompressed) entries: local headers, data, central directory
 * and end record, with each entry's CRC-32. Entry data is copied once, into the archive.
 *
 * @throws S3dlioError `ERR_OBJECT_TOO_LARGE` when the archive would need ZIP64 (over 4 GiB, or
 *   more than 65,535 entries); RangeError/TypeError for bad names (empty, duplicate) or data.
 */
export function encodeZip(entries: readonly ZipEntryInput[], options?: ZipWriteOptions): Uint8Array {
  return encodeZipAs(entries, options, 'encodeZip');
}

/** encodeZip with the operation named in errors (encodeNpz). */
export function encodeZipAs(
  entries: readonly ZipEntryInput[],
  options: ZipWriteOptions | undefined,
  operation: string,
): Uint8Array {
  const list = expectArray(entries, 'entries');
  const opts = expectKnownOptions(options, WRITE_KEYS, operation);
  const align = opts.align ?? 64;
  if (!Number.isInteger(align) || align < 1 || align > 4096 || (align & (align - 1)) !== 0) {
    throw invalidValue('options.align', 'a power of two from 1 to 4096', align);
  }
  if (list.length > MAX_ENTRIES) {
    throw new S3dlioError(
      'ERR_OBJECT_TOO_LARGE',
      `${operation}: ${formatCount(list.length)} entries; a ZIP archive without ZIP64 (not supported) holds at most ${formatCount(MAX_ENTRIES)}`,
      { operation },
    );
  }
  const seen = new Set<string>();
  const planned: PlannedEntry[] = [];
  let position = 0;
  let centralSize = 0;
  list.forEach((entry, i) => {
    if (typeof entry !== 'object' || entry === null) throw invalidType(`entries[${i}]`, 'an object', entry);
    const { name, data } = entry as Partial<ZipEntryInput>;
    if (typeof name !== 'string' || name.length === 0) {
      throw invalidValue(`entries[${i}].name`, 'a non-empty string', name);
    }
    if (seen.has(name)) throw invalidValue(`entries[${i}].name`, 'a name not used by an earlier entry', name);
    seen.add(name);
    const chunks = ArrayBuffer.isView(data) ? [data] : Array.isArray(data) ? (data as unknown[]) : undefined;
    if (!chunks || chunks.some((c) => !ArrayBuffer.isView(c))) {
      throw invalidType(`entries[${i}].data`, 'a Uint8Array or an array of them', data);
    }
    const views = (chunks as ArrayBufferView[]).map((c) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.byteLength > 0xffff) throw invalidValue(`entries[${i}].name`, 'at most 65,535 UTF-8 bytes', name);
    const size = views.reduce((sum, c) => sum + c.byteLength, 0);
    const padding = paddingFor(position + LOCAL_HEADER_SIZE + nameBytes.byteLength, align);
    planned.push({
      name: nameBytes,
      utf8: /[^\x20-\x7e]/.test(name),
      chunks: views,
      size,
      crc: 0,
      offset: position,
      padding,
    });
    position += LOCAL_HEADER_SIZE + nameBytes.byteLength + padding + size;
    centralSize += CENTRAL_HEADER_SIZE + nameBytes.byteLength;
  });
  const total = position + centralSize + END_SIZE;
  // The central directory's offset and every entry's size must fit the classic 32-bit fields.
  if (position + centralSize > MAX_OFFSET) {
    throw new S3dlioError(
      'ERR_OBJECT_TOO_LARGE',
      `${operation}: the archive would be ${formatCount(total)} bytes; without ZIP64 (not supported) a ZIP archive is limited to 4 GiB`,
      { operation },
    );
  }

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  for (const entry of planned) {
    let at = entry.offset;
    at = writeLocalHeader(view, at, entry);
    out.set(entry.name, at);
    at += entry.name.byteLength;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a field written without padding lands where this entry's data, the next local header or the central directory is written next
    if (entry.padding > 0) {
      view.setUint16(at, ALIGNMENT_EXTRA_ID, true);
      view.setUint16(at + 2, entry.padding - 4, true);
      view.setUint16(at + 4, align, true);
      at += entry.padding; // the rest of the padding stays zero
    }
    let crc = 0;
    for (const chunk of entry.chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
      // Skipped when empty: for a zero-length ArrayBuffer, zlib.crc32(chunk, crc) returns 0, not crc.
      if (chunk.byteLength > 0) crc = crc32(chunk, crc);
    }
    entry.crc = crc;
    view.setUint32(entry.offset + 14, crc, true);
  }
  let at = position;
  for (const entry of planned) {
    view.setUint32(at, CENTRAL_HEADER, true);
    view.setUint16(at + 4, VERSION, true); // made by: MS-DOS attributes, version 2.0
    view.setUint16(at + 6, VERSION, true);
    view.setUint16(at + 8, entry.utf8 ? FLAG_UTF8 : 0, true);
    // Stryker disable next-line BooleanLiteral: zero reads the same in either byte order
    view.setUint16(at + 10, 0, true); // stored
    // Stryker disable next-line BooleanLiteral: DOS_TIME is zero, the same in either byte order
    view.setUint16(at + 12, DOS_TIME, true);
    view.setUint16(at + 14, DOS_DATE, true);
    view.setUint32(at + 16, entry.crc, true);
    view.setUint32(at + 20, entry.size, true);
    view.setUint32(at + 24, entry.size, true);
    view.setUint16(at + 28, entry.name.byteLength, true);
    // extra length, comment length, disk number, internal and external attributes: zero
    view.setUint32(at + 42, entry.offset, true);
    out.set(entry.name, at + CENTRAL_HEADER_SIZE);
    at += CENTRAL_HEADER_SIZE + entry.name.byteLength;
  }
  view.setUint32(at, END_OF_CENTRAL_DIRECTORY, true);
  view.setUint16(at + 8, planned.length, true);
  view.setUint16(at + 10, planned.length, true);
  view.setUint32(at + 12, centralSize, true);
  view.setUint32(at + 16, position, true);
  return out;
}

function writeLocalHeader(view: DataView, at: number, entry: PlannedEntry): number {
  view.setUint32(at, LOCAL_HEADER, true);
  view.setUint16(at + 4, VERSION, true);
  view.setUint16(at + 6, entry.utf8 ? FLAG_UTF8 : 0, true);
  // Stryker disable next-line BooleanLiteral: zero reads the same in either byte order
  view.setUint16(at + 8, 0, true); // stored
  // Stryker disable next-line BooleanLiteral: DOS_TIME is zero, the same in either byte order
  view.setUint16(at + 10, DOS_TIME, true);
  view.setUint16(at + 12, DOS_DATE, true);
  // CRC (at + 14) is filled in once the data is written.
  view.setUint32(at + 18, entry.size, true);
  view.setUint32(at + 22, entry.size, true);
  view.setUint16(at + 26, entry.name.byteLength, true);
  view.setUint16(at + 28, entry.padding, true);
  return at + LOCAL_HEADER_SIZE;
}

function hex(n: number): string {
  // Stryker disable next-line StringLiteral: only how a CRC is written in a message
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/**
 * Reads a ZIP archive from its central directory. Stored entries come back as zero-copy views of
 * `bytes`; deflated entries are inflated into new memory. Each entry's CRC-32 is checked unless
 * `verify` is false.
 *
 * @throws S3dlioError `ERR_BAD_FORMAT` for anything that is not a well-formed single-disk ZIP
 *   without ZIP64 and encryption, stored or deflated; `ERR_CHECKSUM_MISMATCH` when an entry's
 *   bytes do not match its CRC-32 (the message names the entry).
 */
export function readZip(bytes: Uint8Array | ArrayBufferView | ArrayBuffer, options?: ZipReadOptions): ZipEntry[] {
  return readZipAs(expectBytes(bytes, 'bytes'), options, 'readZip');
}

/** readZip with the operation named in errors (readNpz). */
export function readZipAs(bytes: Uint8Array, options: ZipReadOptions | undefined, operation: string): ZipEntry[] {
  const opts = expectKnownOptions(options, READ_KEYS, operation);
  const verify = optionalBoolean(opts.verify, 'options.verify', true);
  const fail = (message: string): Error => badFormat(operation, message);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.byteLength;

  // The end record is the last thing in the file, followed only by its comment (≤ 65,535 bytes).
  let end = -1;
  for (let at = length - END_SIZE; at >= 0 && at >= length - END_SIZE - 0xffff; at--) {
    if (
      view.getUint32(at, true) === END_OF_CENTRAL_DIRECTORY &&
      at + END_SIZE + view.getUint16(at + 20, true) <= length
    ) {
      end = at;
      break;
    }
  }
  if (end < 0) {
    throw fail(
      length < END_SIZE
        ? `truncated: ${length} bytes is shorter than a ZIP end record`
        : 'not a ZIP archive (no end-of-central-directory record): truncated or not ZIP',
    );
  }
  if (end >= 20 && view.getUint32(end - 20, true) === ZIP64_LOCATOR) throw fail('ZIP64 archives are not supported');
  // Stryker disable next-line BooleanLiteral: whether a field is zero does not depend on the byte order
  if (view.getUint16(end + 4, true) !== 0 || view.getUint16(end + 6, true) !== 0) {
    throw fail('multi-disk archives are not supported');
  }
  const count = view.getUint16(end + 10, true);
  const centralSize = view.getUint32(end + 12, true);
  const centralOffset = view.getUint32(end + 16, true);
  if (centralOffset + centralSize > end) {
    throw fail(
      `the central directory (${centralSize} bytes at offset ${centralOffset}) runs past the end record at ${end}: truncated or corrupt`,
    );
  }

  const entries: ZipEntry[] = [];
  let at = centralOffset;
  for (let i = 0; i < count; i++) {
    if (at + CENTRAL_HEADER_SIZE > centralOffset + centralSize || view.getUint32(at, true) !== CENTRAL_HEADER) {
      throw fail(`central directory entry ${i} at offset ${at} is missing or corrupt`);
    }
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const compressedSize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const localOffset = view.getUint32(at + 42, true);
    const nameEnd = at + CENTRAL_HEADER_SIZE + nameLength;
    if (nameEnd + skip > centralOffset + centralSize) throw fail(`central directory entry ${i} is truncated`);
    // Names are UTF-8 when flagged; unflagged names are read as UTF-8 too (what Unix zip tools
    // write; CP437 only differs outside ASCII).
    const name = Buffer.from(bytes.buffer, bytes.byteOffset + at + CENTRAL_HEADER_SIZE, nameLength).toString('utf8');
    at = nameEnd + skip;
    const what = `entry ${JSON.stringify(name)}`;
    if (flags & FLAG_ENCRYPTED) throw fail(`${what} is encrypted, which is not supported`);
    if (method !== 0 && method !== 8) {
      throw fail(`${what} uses compression method ${method}; only stored (0) and deflated (8) are supported`);
    }
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) {
      throw fail(`${what} needs ZIP64, which is not supported`);
    }
    if (localOffset + LOCAL_HEADER_SIZE > centralOffset || view.getUint32(localOffset, true) !== LOCAL_HEADER) {
      throw fail(`${what}: no local header at offset ${localOffset}`);
    }
    const dataStart =
      localOffset + LOCAL_HEADER_SIZE + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    if (dataStart + compressedSize > centralOffset) {
      throw fail(`${what}: its ${compressedSize} bytes at offset ${dataStart} run past the data area (truncated)`);
    }
    const stored = bytes.subarray(dataStart, dataStart + compressedSize);
    let data: Uint8Array;
    if (method === 0) {
      if (compressedSize !== size)
        throw fail(`${what} is stored but its two sizes differ (${compressedSize}, ${size})`);
      data = stored;
    } else {
      try {
        // maxOutputLength: a corrupt or hostile stream cannot inflate past the declared size.
        data = inflateRawSync(stored, { maxOutputLength: Math.max(1, size) });
      } catch (error) {
        throw badFormat(operation, `${what}: bad deflate data (${(error as Error).message})`, error);
      }
      if (data.byteLength !== size) {
        throw fail(`${what} inflates to ${data.byteLength} bytes; the directory says ${size}`);
      }
    }
    if (verify) {
      const actual = crc32(data);
      if (actual !== crc) {
        throw new S3dlioError(
          'ERR_CHECKSUM_MISMATCH',
          `${operation}: ${what} (data at byte offset ${dataStart}): CRC-32 of the data is ${hex(actual)}, the archive records ${hex(crc)}`,
          { operation },
        );
      }
    }
    entries.push({ name, method: method === 0 ? 'stored' : 'deflated', crc32: crc, compressedSize, data });
  }
  return entries;
}
