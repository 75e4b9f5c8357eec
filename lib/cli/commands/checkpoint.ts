/** `s3dlio checkpoint ls|show|rm <base>`: the checkpoints a CheckpointStore keeps under a base. */
import { CheckpointStore } from '../../checkpoint';
import type { CheckpointInfo } from '../../checkpoint';
import type { CliContext } from '../context';
import { formatBytes } from '../units';

/** The checkpoints of `base` as the CLI reads them (rank 0 of 1: the CLI saves nothing). */
function checkpointsOf(ctx: CliContext, base: string): CheckpointStore {
  ctx.useUris(base);
  return new CheckpointStore(base, { rank: 0, worldSize: 1 });
}

const totalBytes = (info: CheckpointInfo | undefined): number =>
  (info?.shards ?? []).reduce((sum, shard) => sum + shard.size, 0);

/** Runs `checkpoint ls`: one line per save, newest first; `*` marks the one latest points to. */
export async function checkpointListCommand(ctx: CliContext, base: string): Promise<void> {
  const entries = await checkpointsOf(ctx, base).list({ signal: ctx.signal });
  for (const entry of entries) {
    const { info } = entry;
    const size = info ? formatBytes(totalBytes(info)) : '-';
    const ranks = info ? `${info.shards.length}/${info.worldSize} ranks` : (entry.problem ?? '');
    ctx.reporter.result(
      `${entry.latest ? '*' : ' '} step ${entry.step}  ${entry.ts}  ${entry.status}  ${size}  ${ranks}`,
      {
        type: 'checkpoint',
        step: entry.step,
        ts: entry.ts,
        status: entry.status,
        latest: entry.latest,
        manifestUri: entry.manifestUri,
        ...(info && {
          worldSize: info.worldSize,
          bytes: totalBytes(info),
          epoch: info.epoch,
          framework: info.framework,
        }),
        ...(entry.problem !== undefined && { problem: entry.problem }),
      },
    );
  }
  ctx.reporter.flush();
}

/** Runs `checkpoint show`: the manifest of the latest save (or of `step`), shard by shard. */
export async function checkpointShowCommand(
  ctx: CliContext,
  base: string,
  step: number | undefined,
  options: { ts?: string },
): Promise<void> {
  const checkpoints = checkpointsOf(ctx, base);
  const read = { signal: ctx.signal, ...(options.ts !== undefined && { ts: options.ts }) };
  const info =
    step === undefined ? await checkpoints.loadLatest({ signal: ctx.signal }) : await checkpoints.load(step, read);
  const lines = [
    `manifest: ${info.manifestUri}`,
    `step: ${info.step}  ts: ${info.ts}  epoch: ${info.epoch}  framework: ${info.framework}`,
    `saved: ${info.wallTime}  ranks: ${info.worldSize}  compression: ${info.compression}  size: ${formatBytes(totalBytes(info))}`,
    ...info.shards.map(
      (shard) => `  rank ${shard.rank}: ${shard.key}  ${shard.size} B  ${shard.checksum ?? 'no checksum'}`,
    ),
  ];
  // The record is the info without its method (JSON drops functions).
  ctx.reporter.result(lines.join('\n'), { type: 'checkpoint', ...info });
  ctx.reporter.flush();
}

/** Runs `checkpoint rm`: deletes every save of `step` (or the one at --ts); never the latest. */
export async function checkpointRemoveCommand(
  ctx: CliContext,
  base: string,
  step: number,
  options: { ts?: string },
): Promise<void> {
  const read = { signal: ctx.signal, ...(options.ts !== undefined && { ts: options.ts }) };
  const removed = await checkpointsOf(ctx, base).delete(step, read);
  ctx.reporter.detail(`deleted ${removed} save${removed === 1 ? '' : 's'} of step ${step} under ${base}`, {
    type: 'checkpoint',
    operation: 'rm',
    step,
    deleted: removed,
  });
}
