/** Parsing and printing of the CLI's sizes, counts and rates. */
import { CliUsageError } from './usage-error';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const COUNT_UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };

function parseScaled(text: string, units: Record<string, number>, what: string, example: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? units[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new CliUsageError(`invalid ${what} '${text}' (examples: ${example})`);
  }
  const value = Number(match[1]) * unit;
  if (!Number.isSafeInteger(value)) {
    throw new CliUsageError(
      `invalid ${what} '${text}': it must be a whole number of ${what === 'size' ? 'bytes' : 'items'}`,
    );
  }
  return value;
}

/** `4096`, `4KiB`, `1MB`, `2G` (decimal k/M/G/T, binary KiB/MiB/GiB/TiB) → bytes. */
export function parseSize(text: string): number {
  return parseScaled(text, SIZE_UNITS, 'size', '4096, 4KiB, 1MB, 2G');
}

/** `10`, `1k`, `2M` → a count; 0 is refused (a command that would do nothing is a usage error). */
export function parseCount(text: string): number {
  const count = parseScaled(text, COUNT_UNITS, 'count', '10, 1k, 2M');
  if (count === 0) throw new CliUsageError(`invalid count '${text}': expected at least 1`);
  return count;
}

/** A size that must not be 0 (`--length`: reading zero bytes would do nothing). */
export function parsePositiveSize(text: string, option: string): number {
  const size = parseSize(text);
  if (size === 0) throw new CliUsageError(`invalid ${option} '${text}': expected at least 1 byte`);
  return size;
}

/** A positive integer option (`-j 8`). */
export function parsePositiveInteger(text: string, option: string): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new CliUsageError(`invalid ${option} '${text}': expected a positive integer`);
  }
  return value;
}

/** A non-negative integer argument (a checkpoint step). */
export function parseNonNegativeInteger(text: string, name: string): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value))
    throw new CliUsageError(`invalid ${name} '${text}': expected a non-negative integer`);
  return value;
}

/** A positive number option (`-d 2`, `-x 1.5`). */
export function parseRatio(text: string, option: string): number {
  const value = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1)) throw new CliUsageError(`invalid ${option} '${text}': expected a number >= 1`);
  return value;
}

/** A regular expression option, checked when parsed. */
export function parseRegex(text: string, option: string): RegExp {
  try {
    return new RegExp(text);
  } catch (error) {
    throw new CliUsageError(`invalid ${option} '${text}': ${(error as Error).message}`);
  }
}

/** Bytes in binary units: `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A rate in decimal megabytes per second, as storage benchmarks quote it. */
export function formatMBps(bytes: number, seconds: number): string {
  return `${(bytes / 1e6 / Math.max(seconds, 1e-6)).toFixed(1)} MB/s`;
}
