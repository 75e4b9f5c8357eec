/** Parsing and printing of the CLI's sizes, counts and rates. */
import { CliUsageError } from './usage-error';

/**
 * Size units, all binary (as rclone reads them): `k`, `K`, `Ki`, `KiB` are 1024 bytes, whatever
 * the case; `B` (or none) is one byte. Keys are lower case.
 */
const SIZE_UNITS: Record<string, bigint> = { '': 1n, b: 1n };
for (const [index, letter] of ['k', 'm', 'g', 't', 'p'].entries()) {
  const factor = 1024n ** BigInt(index + 1);
  for (const spelling of [letter, `${letter}i`, `${letter}ib`]) SIZE_UNITS[spelling] = factor;
}

/**
 * Units that look like sizes but are refused: decimal bytes (`KB`, `kB`: 1000 or 1024 depending on
 * who reads them) and bits (`Kb`, `kbit`). Lower-case `kb` is both; refused too.
 */
const REFUSED_SIZE_UNIT = /^([kmgtp])(b|bit|bits|bps)$/i;

/** Counts are decimal: `1k` objects are 1000. */
const COUNT_UNITS: Record<string, bigint> = { '': 1n, k: 1000n, m: 1000n ** 2n, g: 1000n ** 3n };

const NUMBER_AND_UNIT = /^\s*(\d+)(?:\.(\d+))?\s*([a-zA-Z]*)\s*$/;

/** `whole.fraction × factor`, exactly (no floating-point rounding); undefined when not whole. */
function scaled(whole: string, fraction: string, factor: bigint): bigint | undefined {
  const denominator = 10n ** BigInt(fraction.length);
  const numerator = (BigInt(whole) * denominator + BigInt(fraction === '' ? '0' : fraction)) * factor;
  return numerator % denominator === 0n ? numerator / denominator : undefined;
}

function parseScaled(
  text: string,
  units: Record<string, bigint>,
  what: 'size' | 'count',
  option: string,
  example: string,
): number {
  const match = NUMBER_AND_UNIT.exec(text);
  if (!match) throw new CliUsageError(`invalid ${option} '${text}' (examples: ${example})`);
  const [, whole, fraction = '', unit] = match;
  if (what === 'size' && REFUSED_SIZE_UNIT.test(unit)) {
    const binary = `${whole}${fraction === '' ? '' : `.${fraction}`}${unit[0].toUpperCase()}iB`;
    throw new CliUsageError(
      `invalid ${option} '${text}': '${unit}' is a decimal-byte or bit unit; sizes are binary bytes: ` +
        `write ${binary} (or ${binary.slice(0, -2).toLowerCase()}), or the number of bytes`,
    );
  }
  const factor = Object.hasOwn(units, unit.toLowerCase()) ? units[unit.toLowerCase()] : undefined;
  if (factor === undefined)
    throw new CliUsageError(`invalid ${option} '${text}': unknown unit '${unit}' (examples: ${example})`);
  const value = scaled(whole, fraction, factor);
  if (value === undefined) {
    throw new CliUsageError(
      `invalid ${option} '${text}': it must be a whole number of ${what === 'size' ? 'bytes' : 'items'}`,
    );
  }
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CliUsageError(`invalid ${option} '${text}': more than ${Number.MAX_SAFE_INTEGER} (2^53 - 1)`);
  }
  return Number(value);
}

/**
 * A size in bytes: `4096`, `4k`, `4K`, `4KiB`, `1.5m`, `2G` (binary units, any case: `4k` is 4096).
 * `KB`, `MB` (decimal bytes) and bit units (`Kb`, `kbit`) are usage errors that name the binary
 * spelling. `option` names the flag in messages.
 */
export function parseSize(text: string, option = 'size'): number {
  return parseScaled(text, SIZE_UNITS, 'size', option, '4096, 4k, 4KiB, 1.5MiB, 2G');
}

/** `10`, `1k`, `2M` → a count (decimal: `1k` is 1000); 0 is refused (a command that would do nothing). */
export function parseCount(text: string, option = 'count'): number {
  const count = parseScaled(text, COUNT_UNITS, 'count', option, '10, 1k, 2M');
  if (count === 0) throw new CliUsageError(`invalid ${option} '${text}': expected at least 1`);
  return count;
}

/** A size that must not be 0 (`--length`: reading zero bytes would do nothing). */
export function parsePositiveSize(text: string, option: string): number {
  const size = parseSize(text, option);
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

/** Bytes in binary units: `512 B`, `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Bytes per second in binary units (MiB/s), the unit family of every size the CLI prints. */
export function mebibytesPerSecond(bytes: number, seconds: number): number {
  return bytes / 2 ** 20 / Math.max(seconds, 1e-6);
}

/** A rate as printed: `339.9 MiB/s`. */
export function formatRate(bytes: number, seconds: number): string {
  return `${mebibytesPerSecond(bytes, seconds).toFixed(1)} MiB/s`;
}
