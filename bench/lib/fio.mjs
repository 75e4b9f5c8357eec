// Running fio as a baseline: detection, one job per call, JSON output parsed into bytes/second.
import { spawnSync } from 'node:child_process';

export const FIO_MISSING_MESSAGE = 'fio not found: install it with `apt-get install -y fio`';

/** fio's version string, or undefined when fio is not installed (or does not run). */
export function fioVersion() {
  const result = spawnSync('fio', ['--version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) return undefined;
  return result.stdout.trim();
}

/**
 * Runs one fio job with `args` (without --output-format) and returns the throughput of the
 * direction that moved bytes, as fio measured it (its runtime excludes process start and file
 * setup, and includes end_fsync when set).
 */
export function runFio(args) {
  const full = [...args, '--output-format=json'];
  const result = spawnSync('fio', full, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  const text = result.stdout ?? '';
  const start = text.indexOf('{');
  if (result.status !== 0 || start < 0) {
    throw new Error(
      `fio ${full.join(' ')} failed (exit ${result.status}): ${(result.stderr || text).trim().slice(0, 2000)}`,
    );
  }
  let report;
  try {
    report = JSON.parse(text.slice(start));
  } catch (error) {
    throw new Error(`fio printed no JSON report for ${full.join(' ')}: ${error.message}`, { cause: error });
  }
  const job = report.jobs?.[0];
  if (!job || job.error) throw new Error(`fio job failed (error ${job?.error}): ${full.join(' ')}`);
  const side = job.read.io_bytes > 0 ? job.read : job.write;
  if (!(side.io_bytes > 0) || !(side.runtime > 0)) throw new Error(`fio moved no bytes: ${full.join(' ')}`);
  return {
    bytes: side.io_bytes,
    seconds: side.runtime / 1000,
    bytesPerSecond: side.io_bytes / (side.runtime / 1000),
    command: ['fio', ...full].join(' '),
  };
}
