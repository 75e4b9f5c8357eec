// The tables of a run in Markdown (summary.md): one table per target and kind of case, each
// client a column, ours first, then the ratio of ours to every baseline and our peak RSS. Like the
// HTML report it reads only the results JSON, so docs can quote a run as it was measured.
import { fmtNumber, fmtSize } from '../lib/util.mjs';
import { fmtValue } from './report.mjs';
import { EMULATOR_NOTE, failureLine, groupRows } from './results.mjs';

const KIND_TITLES = {
  throughput: 'throughput by object size, one at a time (MiB/s)',
  parallel: 'throughput with many in flight (MiB/s)',
  latency: 'small-object GET latency, one at a time (p50 / p99 µs)',
  scaling: 'GET throughput by operations in flight (MiB/s)',
  range: 'a large GET: one request or the RangeEngine (MiB/s)',
  loader: 'DataLoader against a pool of gets (MiB/s)',
};

const num = (value) => (Number.isFinite(value) ? fmtValue(value) : '-');

/** A row's cell: the median (and p99 for latency). */
const cell = (row) => (row.kind === 'latency' ? `${num(row.median)} / ${num(row.p99us)}` : num(row.median));

/** What sets one group apart from the others of its table. */
function groupLabel(row) {
  const parts = [row.op, fmtSize(row.size)];
  if (row.kind !== 'throughput' && row.kind !== 'latency') parts.push(`×${row.concurrency}`);
  if (row.variant) parts.push(`(${row.variant})`);
  return parts.join(' ');
}

const escapeCell = (text) => String(text).replace(/\|/g, '\\|');

/** The Markdown tables of `results` (a results.json), with the run's facts and notes. */
export function markdownSummary(results) {
  const m = results.machine;
  const lines = [
    `Run of \`${results.command}\` on ${results.date.slice(0, 10)}: ${m.cpuModel}, ${m.cores} cores, ` +
      `${fmtNumber(m.memoryBytes / 2 ** 30)} GiB, ${m.kernel}, Node ${m.node}, s3dlio ${m.packageVersion} ` +
      `(${m.gitCommit.slice(0, 10)}${m.gitDirty ? ', uncommitted changes' : ''}); disk ${m.disk.model} (${m.disk.mount}). ` +
      `Medians of ${results.options.reps} repetitions after a warm-up; a ratio above 1 means ours is faster.`,
  ];
  const targets = [...new Set(results.cases.map((row) => row.target))];
  for (const target of targets) {
    const rows = results.cases.filter((row) => row.target === target);
    lines.push('', `### ${target}: ${rows[0].server}`);
    for (const kind of Object.keys(KIND_TITLES)) {
      const of = rows.filter((row) => row.kind === kind);
      if (of.length === 0) continue;
      const ours = [...new Set(of.filter((row) => row.role === 'ours').map((row) => row.client))];
      const baselines = [...new Set(of.filter((row) => row.role !== 'ours').map((row) => row.client))];
      const clients = [...ours, ...baselines];
      lines.push(
        '',
        `**${KIND_TITLES[kind]}**`,
        '',
        `| case | ${clients.map(escapeCell).join(' | ')} | ours ÷ baseline | ours: peak RSS |`,
        `| --- | ${clients.map(() => '---:').join(' | ')} | --- | ---: |`,
      );
      for (const group of groupRows(of)) {
        const byClient = new Map(group.map((row) => [row.client, row]));
        const mine = group.find((row) => row.role === 'ours');
        const ratios = Object.entries(mine?.ratios ?? {})
          .map(([client, ratio]) => `${num(ratio)}× ${client}`)
          .join(', ');
        const rss = mine?.peakRssBytes ? `${fmtNumber(mine.peakRssBytes / 2 ** 20)} MiB` : '-';
        lines.push(
          `| ${escapeCell(groupLabel(group[0]))} | ${clients.map((client) => (byClient.has(client) ? cell(byClient.get(client)) : '')).join(' | ')} | ${escapeCell(ratios)} | ${rss} |`,
        );
      }
    }
  }
  lines.push('');
  if (results.cases.some((row) => /emulator/.test(row.server))) lines.push(`- ${EMULATOR_NOTE}`);
  for (const note of results.notes ?? []) lines.push(`- ${note}`);
  for (const skip of results.skipped ?? [])
    lines.push(`- SKIPPED ${skip.what}: ${skip.why}; install it with: \`${skip.install}\``);
  for (const failure of results.failures ?? [])
    lines.push(`- FAILED ${failure.case}: ${escapeCell(failureLine(failure.error))}`);
  return `${lines.join('\n')}\n`;
}
