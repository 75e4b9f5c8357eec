/** `s3dlio oplog stats LOG` and `s3dlio replay LOG --target URI`. */
import { localLogFile } from '../../oplog/location';
import { replay } from '../../oplog/replay';
import type { OpLogEntry } from '../../oplog/reader';
import { readOpLog } from '../../oplog/source';
import { summarizeOpLog } from '../../oplog/summary';
import type { CliContext } from '../context';
import { CliUsageError } from '../usage-error';
import { formatBytes, formatRate } from '../units';

const ms = (value: number): string => (Number.isNaN(value) ? '-' : value < 10 ? value.toFixed(3) : value.toFixed(1));
const rate = (value: number): string => (Number.isNaN(value) ? '-' : value.toFixed(1));
/** `, 12.3 MiB/s`, or nothing when no bytes moved (a log of deletes and lists has no byte rate). */
const byteRate = (bytes: number, seconds: number): string => (bytes > 0 ? `, ${formatRate(bytes, seconds)}` : '');

/** Local logs are files; a URI is read through its store (configured like any other). */
function useLog(ctx: CliContext, log: string): void {
  if (localLogFile(log, 'log') === undefined) ctx.useUris(log);
}

/** Runs `oplog stats`: totals, then one line per op with its rate, bytes and latency percentiles. */
export async function oplogStatsCommand(ctx: CliContext, log: string): Promise<void> {
  useLog(ctx, log);
  const stats = await summarizeOpLog(readOpLog(log));
  const lines = [
    `${stats.operations} operations, ${formatBytes(stats.bytes)} in ${stats.durationSeconds.toFixed(3)} s: ` +
      `${rate(stats.opsPerSecond)} ops/s${byteRate(stats.bytes, stats.durationSeconds)}; ${stats.errors} errors`,
    'op       count    ops/s        bytes   p50 ms   p90 ms   p99 ms   max ms  errors',
    ...Object.entries(stats.byOp).map(
      ([op, s]) =>
        `${op.padEnd(6)} ${String(s.count).padStart(7)} ${rate(s.opsPerSecond).padStart(8)} ${formatBytes(s.bytes).padStart(12)} ` +
        `${ms(s.latencyMs.p50).padStart(8)} ${ms(s.latencyMs.p90).padStart(8)} ${ms(s.latencyMs.p99).padStart(8)} ` +
        `${ms(s.latencyMs.max).padStart(8)} ${String(s.errors).padStart(7)}`,
    ),
    ...Object.entries(stats.errorsByCode).map(([code, count]) => `error ${code}: ${count}`),
  ];
  ctx.reporter.result(lines.join('\n'), { type: 'oplog-stats', log, ...stats });
  ctx.reporter.flush();
}

/** Options of `replay`, as commander parses them. */
export interface ReplayCommandOptions {
  target: string;
  speed: number;
  concurrency: number;
  continueOnError?: boolean;
  op?: string[];
  remap?: string[];
}

/** `FROM=TO` pairs of --remap. */
function remapOf(pairs: readonly string[]): Record<string, string> {
  const remap: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0)
      throw new CliUsageError(`--remap ${pair}: expected FROM=TO (a recorded prefix and a target URI prefix)`);
    remap[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return remap;
}

/** Runs `replay`: the log's operations against --target, then how closely the schedule was kept. */
export async function replayCommand(ctx: CliContext, log: string, options: ReplayCommandOptions): Promise<void> {
  useLog(ctx, log);
  ctx.useUris(options.target);
  const remap = options.remap && remapOf(options.remap);
  for (const to of Object.values(remap ?? {})) ctx.useUris(to);
  const ops = options.op && new Set(options.op.flatMap((list) => list.split(',')).map((op) => op.trim().toUpperCase()));
  const progress = ctx.reporter.startTask('replay');
  const report = await replay(log, {
    target: options.target,
    speed: options.speed,
    concurrency: options.concurrency,
    continueOnError: options.continueOnError === true,
    ...(ops && { filter: (entry: OpLogEntry) => ops.has(entry.op) }),
    ...(remap && { remap }),
    onProgress: (p) => progress.set(p.operations, p.bytes),
    signal: ctx.signal,
  });
  progress.stop();
  const skipped = Object.entries(report.skipped).map(([reason, count]) => `${count} skipped (${reason})`);
  const text = [
    `${report.operations} operations, ${formatBytes(report.bytes)} in ${report.durationSeconds.toFixed(3)} s ` +
      `(scheduled ${Number.isNaN(report.scheduledSeconds) ? 'as fast as possible' : `${report.scheduledSeconds.toFixed(3)} s`}): ` +
      `${rate(report.opsPerSecond)} ops/s${byteRate(report.bytes, report.durationSeconds)}`,
    `lag behind schedule: p50 ${ms(report.lagMs.p50)} ms, p99 ${ms(report.lagMs.p99)} ms, max ${ms(report.lagMs.max)} ms`,
    `${report.errors} errors, ${report.expectedErrors} failed as recorded${skipped.length > 0 ? `, ${skipped.join(', ')}` : ''}`,
    ...Object.entries(report.errorsByCode).map(([code, count]) => `error ${code}: ${count}`),
  ];
  ctx.reporter.result(text.join('\n'), { type: 'replay', log, target: options.target, ...report });
  ctx.reporter.flush();
  if (report.errors > 0) ctx.reporter.failures += report.errors;
}
