// Small helpers shared by the local benchmark: arguments, timing, statistics, cache control,
// data generation and table printing. No dependency beyond Node itself.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Parses `--name value`, `--name=value` and boolean `--flag` arguments against a spec. */
export function parseArgs(argv, spec) {
  const options = {};
  for (const [name, def] of Object.entries(spec)) options[name] = def.default;
  const given = new Set();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2);
    const def = spec[name];
    if (!def)
      throw new Error(
        `unknown option --${name} (known: ${Object.keys(spec)
          .map((n) => `--${n}`)
          .join(', ')})`,
      );
    // Given twice, one would silently lose (`--target a --target b` measuring only b).
    if (given.has(name)) throw new Error(`--${name} is given twice`);
    given.add(name);
    if (def.type === 'boolean') {
      options[name] = value === undefined ? true : !/^(0|false|no)$/i.test(value);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      // `--out --quick` is a missing value, not a directory named "--quick".
      if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
    }
    if (def.type === 'int') {
      const number = Number(value);
      if (!Number.isInteger(number) || number < (def.min ?? 1))
        throw new Error(`--${name} must be an integer >= ${def.min ?? 1}`);
      options[name] = number;
    } else {
      options[name] = value;
    }
  }
  return options;
}

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Seconds taken by `fn` (awaited). */
export async function timeIt(fn) {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

/** A real `gc()` without needing `node --expose-gc` on the command line. */
export const gc = (() => {
  v8.setFlagsFromString('--expose_gc');
  return vm.runInNewContext('gc');
})();

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Flushes dirty pages and drops the page, dentry and inode caches. Returns false (and does
 * nothing but the sync) when the process may not (not root, or a read-only /proc).
 */
export function dropCaches() {
  spawnSync('sync', { stdio: 'ignore' });
  if (!isRoot) return false;
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

export function sync() {
  spawnSync('sync', { stdio: 'ignore' });
}

/**
 * Fills `target` with incompressible, non-zero bytes quickly: one random block repeated, with
 * each block's first 8 bytes replaced by its index (so no two blocks are equal).
 */
export function fillRandomish(target, blockSize = 16 * MiB) {
  const block = randomFillSync(new Uint8Array(Math.min(blockSize, target.length)));
  for (let i = 0; i < block.length; i++) if (block[i] === 0) block[i] = 0x5a;
  for (let offset = 0, index = 1; offset < target.length; offset += block.length, index++) {
    const count = Math.min(block.length, target.length - offset);
    target.set(count === block.length ? block : block.subarray(0, count), offset);
    for (let b = 0; b < 8 && b < count; b++) target[offset + b] = ((index >>> (8 * (b % 4))) & 0xff) | 1;
  }
  return target;
}

export function fmtSize(bytes) {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}

export function fmtNumber(value, digits = 0) {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Renders rows (arrays of strings) as an aligned plain-text table with a header rule. */
export function renderTable(header, rows, alignRight = []) {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells) =>
    cells
      .map((cell, c) =>
        alignRight.includes(c) ? String(cell ?? '').padStart(widths[c]) : String(cell ?? '').padEnd(widths[c]),
      )
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The block device holding `dir`, as a reader of its /sys/block stat counters, or undefined
 * (overlay, tmpfs, non-Linux). Counts are requests completed and 512-byte sectors moved, so a
 * run's requests and average request size show how the I/O reached the device.
 */
export function blockDeviceStats(dir) {
  let dev;
  try {
    dev = statSync(dir).dev;
  } catch {
    return undefined;
  }
  const major = (Math.floor(dev / 256) % 4096) + Math.floor(dev / 2 ** 32) - (Math.floor(dev / 2 ** 32) % 4096);
  const minor = (dev % 256) + ((Math.floor(dev / 4096) % 2 ** 20) - ((Math.floor(dev / 4096) % 2 ** 20) % 256));
  const file = `/sys/dev/block/${major}:${minor}/stat`;
  if (!existsSync(file)) return undefined;
  let name = `${major}:${minor}`;
  try {
    name = path.basename(realpathSync(`/sys/dev/block/${major}:${minor}`));
  } catch {
    // keep major:minor
  }
  const read = () => {
    const f = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    return { readIos: f[0], readSectors: f[2], writeIos: f[4], writeSectors: f[6] };
  };
  return { name, read };
}

/** Requests and bytes between two blockDeviceStats readings, for the busier direction. */
export function blockDelta(before, after) {
  if (!before || !after) return undefined;
  const reads = { ios: after.readIos - before.readIos, bytes: (after.readSectors - before.readSectors) * 512 };
  const writes = { ios: after.writeIos - before.writeIos, bytes: (after.writeSectors - before.writeSectors) * 512 };
  const side = writes.bytes > reads.bytes ? { dir: 'write', ...writes } : { dir: 'read', ...reads };
  return { ...side, avgKiB: side.ios > 0 ? side.bytes / side.ios / 1024 : 0 };
}
