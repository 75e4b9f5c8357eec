/**
 * Independent tools the format suites check against: NumPy (python3) and the HDF5 command-line
 * tools (h5dump, h5import). Each runs as a child process on files in a temporary directory.
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';

import { assertTool } from '../helpers/tools';

/**
 * Runs a Python script with numpy imported as `np`; `ARGS` is `sys.argv[1:]`. The script prints
 * one JSON value (last line of stdout), which is returned.
 */
export function python<T>(script: string, ...args: string[]): T {
  assertTool('numpy');
  const prelude = 'import sys, json, hashlib\nimport numpy as np\nARGS = sys.argv[1:]\n';
  const stdout = execFileSync('python3', ['-c', prelude + script, ...args], { encoding: 'utf8' });
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** Runs h5dump (or another HDF5 tool) and returns its stdout. */
export function hdf5Tool(tool: 'h5dump' | 'h5import', ...args: string[]): string {
  assertTool(tool);
  return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** SHA-256 (hex) of the bytes of any view, as Python's hashlib computes it from `tobytes()`. */
export function sha256(view: ArrayBufferView): string {
  return createHash('sha256')
    .update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
    .digest('hex');
}

/**
 * CRC32C and TFRecord framing written independently in Python (bitwise CRC, polynomial
 * 0x82F63B78): `read_tfrecords(path)` checks both masked CRCs of every record and returns the
 * records; `write_tfrecords(path, records)` frames them.
 */
export const PY_TFRECORD = `
import struct
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
def masked(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
def read_tfrecords(path):
    raw = open(path, 'rb').read()
    at, out = 0, []
    while at < len(raw):
        (length,) = struct.unpack_from('<Q', raw, at)
        assert struct.unpack_from('<I', raw, at + 8)[0] == masked(raw[at:at + 8]), 'length crc at %d' % at
        data = raw[at + 12:at + 12 + length]
        assert struct.unpack_from('<I', raw, at + 12 + length)[0] == masked(data), 'data crc at %d' % at
        out.append(data)
        at += 16 + length
    return out
def write_tfrecords(path, records):
    with open(path, 'wb') as f:
        for data in records:
            header = struct.pack('<Q', len(data))
            f.write(header + struct.pack('<I', masked(header)) + data + struct.pack('<I', masked(data)))
`;
