/**
 * TFRecord files (tensorflow/core/lib/io/record_writer.h): each record is
 * `uint64 length | uint32 masked CRC32C(length bytes) | data | uint32 masked CRC32C(data)`, all
 * little-endian. The index format is DALI's (tfrecord2idx): one `"<offset> <size>\n"` line per
 * record, size being the whole framed record.
 */
import { crc32c } from '../checksum';
import { S3dlioError } from '../errors';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import { expectArray, expectNonNegativeInteger, invalidType, optionalBoolean } from '../validate';
import { badFormat, expectBytes } from './common';

/** Where one record sits in a TFRecord file: one line `<offset> <size>` of a DALI index. */
export interface TfRecordIndexEntry {
  /** Byte offset of the record's length field. */
  offset: number;
  /** Bytes of the whole framed record: 8 (length) + 4 (CRC) + data + 4 (CRC). */
  length: number;
}

/** A TFRecord file in memory and the index of its records. */
export interface EncodedTfRecords {
  /** The framed records, back to back. */
  data: Uint8Array;
  /** One entry per record, in order. */
  index: TfRecordIndexEntry[];
}

/** Options of the TFRecord readers. */
export interface TfRecordReadOptions {
  /** Check both CRCs of every record (default true). */
  verify?: boolean;
}

const READ_KEYS = optionKeys<TfRecordReadOptions>()({ verify: true });

/** Framing bytes around each record's data: length (8), its CRC (4), the data's CRC (4). */
export const TFRECORD_OVERHEAD = 16;
const MASK_DELTA = 0xa282ead8;

/**
 * The CRC32C of `data`, masked as TFRecord stores it: rotated right by 15 bits plus 0xa282ead8
 * (mod 2^32), so that a CRC computed over bytes that contain CRCs is not trivially related to them.
 */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/**
 * Frames records into one TFRecord file. Record data is copied once, into the result.
 *
 * @returns the file's bytes and the index of its records (see {@link formatTfRecordIndex}).
 */
export function encodeTfRecords(records: readonly Uint8Array[]): EncodedTfRecords {
  const list = expectArray(records, 'records');
  let total = 0;
  list.forEach((record, i) => {
    if (!ArrayBuffer.isView(record)) throw invalidType(`records[${i}]`, 'a Uint8Array', record);
    total += record.byteLength + TFRECORD_OVERHEAD;
  });
  const data = new Uint8Array(total);
  const view = new DataView(data.buffer);
  const index: TfRecordIndexEntry[] = [];
  let at = 0;
  for (const record of list as ArrayBufferView[]) {
    const bytes = new Uint8Array(record.buffer, record.byteOffset, record.byteLength);
    // uint64 LE length; record sizes are safe integers, so the high word is length / 2^32.
    view.setUint32(at, bytes.byteLength >>> 0, true);
    view.setUint32(at + 4, Math.floor(bytes.byteLength / 2 ** 32), true);
    view.setUint32(at + 8, maskedCrc32c(data.subarray(at, at + 8)), true);
    data.set(bytes, at + 12);
    view.setUint32(at + 12 + bytes.byteLength, maskedCrc32c(bytes), true);
    index.push({ offset: at, length: bytes.byteLength + TFRECORD_OVERHEAD });
    at += bytes.byteLength + TFRECORD_OVERHEAD;
  }
  return { data, index };
}

/** The index as DALI's tfrecord2idx writes it: `"<offset> <size>\n"` per record. */
export function formatTfRecordIndex(index: readonly TfRecordIndexEntry[]): string {
  return expectArray(index, 'index')
    .map((entry, i) => {
      const { offset, length } = (entry ?? {}) as Partial<TfRecordIndexEntry>;
      expectNonNegativeInteger(offset, `index[${i}].offset`);
      expectNonNegativeInteger(length, `index[${i}].length`);
      return `${offset} ${length}\n`;
    })
    .join('');
}

/**
 * Parses an index text strictly: every line is two non-negative decimal integers separated by one
 * space, lines end with `\n` (the last one may not), and no record is shorter than its framing.
 *
 * @throws S3dlioError `ERR_BAD_FORMAT` naming the first bad line.
 */
export function parseTfRecordIndex(text: string): TfRecordIndexEntry[] {
  if (typeof text !== 'string') throw invalidType('text', 'a string', text);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    const match = /^(\d+) (\d+)$/.exec(line);
    const offset = match ? Number(match[1]) : NaN;
    const length = match ? Number(match[2]) : NaN;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) {
      throw badFormat(
        'parseTfRecordIndex',
        `line ${i + 1} is ${JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line)}, not "<offset> <size>"`,
      );
    }
    if (length < TFRECORD_OVERHEAD) {
      throw badFormat(
        'parseTfRecordIndex',
        `line ${i + 1}: size ${length} is smaller than a record's ${TFRECORD_OVERHEAD} bytes of framing`,
      );
    }
    return { offset, length };
  });
}

/**
 * Reads the record at `offset` of `bytes`; `label` names it in errors ("record 3 at byte offset
 * 120"). `base` is the file offset of `bytes[0]` (not 0 when `bytes` is one record read from an
 * index), so every offset in a message is a file offset.
 */
function recordAt(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  verify: boolean,
  label: string,
  operation: string,
  base = 0,
): Uint8Array {
  const at = (position: number): number => base + position;
  const remaining = bytes.byteLength - offset;
  if (remaining < 12) {
    throw badFormat(
      operation,
      `${label}: truncated: the 12-byte record header needs ${12 - remaining} more bytes (the data ends at byte offset ${at(bytes.byteLength)})`,
    );
  }
  if (verify) {
    const stored = view.getUint32(offset + 8, true);
    const actual = maskedCrc32c(bytes.subarray(offset, offset + 8));
    if (stored !== actual) {
      throw crcMismatch(
        operation,
        `${label}: length CRC mismatch (the CRC at byte offset ${at(offset + 8)} does not match the length at byte offset ${at(offset)})`,
        stored,
        actual,
      );
    }
  }
  const length = view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;
  if (length + TFRECORD_OVERHEAD > remaining) {
    throw badFormat(
      operation,
      `${label}: truncated: the record declares ${length} bytes of data (${length + TFRECORD_OVERHEAD} framed), only ${remaining} bytes remain (the data ends at byte offset ${at(bytes.byteLength)})`,
    );
  }
  const data = bytes.subarray(offset + 12, offset + 12 + length);
  if (verify) {
    const stored = view.getUint32(offset + 12 + length, true);
    const actual = maskedCrc32c(data);
    if (stored !== actual) {
      throw crcMismatch(
        operation,
        `${label}: data CRC mismatch (the CRC at byte offset ${at(offset + 12 + length)} does not match the ${length} data bytes at byte offset ${at(offset + 12)})`,
        stored,
        actual,
      );
    }
  }
  return data;
}

function crcMismatch(operation: string, what: string, stored: number, actual: number): S3dlioError {
  const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
  return new S3dlioError(
    'ERR_CHECKSUM_MISMATCH',
    `${operation}: ${what}: stored masked CRC32C ${hex(stored)}, computed ${hex(actual)}`,
    { operation },
  );
}

/**
 * Iterates over the records of a TFRecord file, in order, as zero-copy views of `bytes`.
 * Errors are raised when the iteration reaches the bad record (records before it were yielded).
 *
 * @throws S3dlioError `ERR_BAD_FORMAT` when a record is truncated, `ERR_CHECKSUM_MISMATCH` when a
 *   CRC differs (with `verify`); the message names the record number (from 0) and its byte offset.
 */
export function readTfRecords(
  bytes: Uint8Array | ArrayBufferView | ArrayBuffer,
  options?: TfRecordReadOptions,
): Generator<Uint8Array, void, undefined> {
  // Arguments are checked now, not at the first next() call, as generator bodies would.
  const input = expectBytes(bytes, 'bytes');
  const verify = optionalBoolean(
    expectKnownOptions(options, READ_KEYS, 'readTfRecords').verify,
    'options.verify',
    true,
  );
  return records(input, verify);
}

function* records(bytes: Uint8Array, verify: boolean): Generator<Uint8Array, void, undefined> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (let n = 0; offset < bytes.byteLength; n++) {
    const data = recordAt(bytes, view, offset, verify, `record ${n} at byte offset ${offset}`, 'readTfRecords');
    offset += data.byteLength + TFRECORD_OVERHEAD;
    yield data;
  }
}

/**
 * The data of the one record at `offset` (from an index), as a zero-copy view of `bytes`.
 *
 * @throws S3dlioError `ERR_BAD_FORMAT` / `ERR_CHECKSUM_MISMATCH` as {@link readTfRecords}, and
 *   `ERR_BAD_FORMAT` when `offset` is at or past the end (an index of another file).
 */
export function readTfRecordAt(
  bytes: Uint8Array | ArrayBufferView | ArrayBuffer,
  offset: number,
  options?: TfRecordReadOptions,
): Uint8Array {
  const input = expectBytes(bytes, 'bytes');
  expectNonNegativeInteger(offset, 'offset');
  const verify = optionalBoolean(
    expectKnownOptions(options, READ_KEYS, 'readTfRecordAt').verify,
    'options.verify',
    true,
  );
  if (offset >= input.byteLength) {
    throw badFormat(
      'readTfRecordAt',
      `record at byte offset ${offset}: past the end of the ${input.byteLength}-byte file (stale index?)`,
    );
  }
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  return recordAt(input, view, offset, verify, `record at byte offset ${offset}`, 'readTfRecordAt');
}

/**
 * The data of one framed record that was read alone (by its index entry) from byte `fileOffset`
 * of its file: errors give file offsets, as {@link readTfRecords} over the whole file would.
 * @internal for Dataset
 */
export function readFramedRecord(
  framed: Uint8Array,
  fileOffset: number,
  record: number,
  verify: boolean,
  operation: string,
): Uint8Array {
  const view = new DataView(framed.buffer, framed.byteOffset, framed.byteLength);
  return recordAt(framed, view, 0, verify, `record ${record} at byte offset ${fileOffset}`, operation, fileOffset);
}
