/**
 * ZIP archives written by hand, independently of the library's encodeZip, with the fields other
 * ZIP tools use (extra fields, comments, deflated members, sizes and CRCs of the test's choosing).
 */
import { crc32 } from 'zlib';

export const LOCAL = 0x04034b50;
export const CENTRAL = 0x02014b50;
export const END = 0x06054b50;

export interface HandEntry {
  name: string;
  /** The bytes stored in the archive (already deflated when method is 8). */
  stored: Uint8Array;
  method?: 0 | 8;
  /** The uncompressed size recorded in the central directory (default: stored.length). */
  size?: number;
  /** CRC-32 recorded (default: of `stored`). */
  crc?: number;
  localExtra?: Uint8Array;
  centralExtra?: Uint8Array;
  comment?: Uint8Array;
}

/** An archive written by hand, independently of encodeZip, with the fields other ZIP tools use. */
export function handMadeZip(entries: HandEntry[], archiveComment = new Uint8Array(0)): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name);
    const localExtra = Buffer.from(entry.localExtra ?? new Uint8Array(0));
    const crc = entry.crc ?? crc32(entry.stored);
    const size = entry.size ?? entry.stored.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(entry.method ?? 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(entry.stored.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    parts.push(local, name, localExtra, Buffer.from(entry.stored));
    const centralExtra = Buffer.from(entry.centralExtra ?? new Uint8Array(0));
    const comment = Buffer.from(entry.comment ?? new Uint8Array(0));
    const header = Buffer.alloc(46);
    header.writeUInt32LE(CENTRAL, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(entry.method ?? 0, 10);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(entry.stored.length, 20);
    header.writeUInt32LE(size, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt16LE(centralExtra.length, 30);
    header.writeUInt16LE(comment.length, 32);
    header.writeUInt32LE(offset, 42);
    central.push(header, name, centralExtra, comment);
    offset += 30 + name.length + localExtra.length + entry.stored.length;
  }
  const centralBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(archiveComment.length, 20);
  return new Uint8Array(Buffer.concat([...parts, centralBytes, end, Buffer.from(archiveComment)]));
}

/** A ZIP extra field: 2-byte ID, 2-byte length, data. */
export function extraField(id: number, data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(4 + data.length);
  out.writeUInt16LE(id, 0);
  out.writeUInt16LE(data.length, 2);
  out.set(data, 4);
  return out;
}
