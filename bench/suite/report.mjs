// The report of a run: a self-contained HTML page (inline SVG graphs, no script, no network) and
// a plain-text summary. Both read only the results JSON, so an old run can be re-rendered.
import { fmtNumber, fmtSize } from '../lib/util.mjs';
import { EMULATOR_NOTE, failureLine, groupKey } from './results.mjs';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const esc = (text) =>
  String(text).replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch],
  );

/** A figure with three or so significant digits (thousands grouped). */
export const fmtValue = (value) =>
  value === 0 ? '0' : Math.abs(value) >= 100 ? fmtNumber(value) : fmtNumber(value, value >= 10 ? 1 : 2);

function ticks(min, max, log) {
  if (log) {
    const base = max / min > 4096 ? 10 : 2;
    const out = [];
    for (let v = base ** Math.floor(Math.log(min) / Math.log(base)); v <= max * 1.0001; v *= base) out.push(v);
    // Labels of binary sizes are wide: about six fit an axis without running into each other.
    return out.length > 7 ? out.filter((_, i) => i % Math.ceil(out.length / 6) === 0) : out;
  }
  const step = 10 ** Math.floor(Math.log10((max - min) / 5 || 1));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (max - min) / s <= 8) ?? step * 10;
  const out = [];
  for (let v = Math.floor(min / nice) * nice; v <= max + nice * 0.001; v += nice) out.push(v);
  return out;
}

/**
 * An SVG line chart: `series` of [x, y, {min, max}?] points (log axes where asked); every point is
 * a `circle.datum`, every series a `path.series`.
 */
export function lineChart({
  title,
  xLabel,
  yLabel,
  series,
  xLog = false,
  yLog = false,
  xFormat = fmtValue,
  yFormat = fmtValue,
}) {
  const width = 660;
  const height = 340;
  const m = { left: 64, right: 200, top: 30, bottom: 50 };
  const points = series.flatMap((s) => s.points);
  const xs = points.map((p) => p[0]).filter((v) => !xLog || v > 0);
  const ys = points
    .flatMap((p) => [p[1], p[2]?.min ?? p[1], p[2]?.max ?? p[1]])
    .filter((v) => Number.isFinite(v) && (!yLog || v > 0));
  if (xs.length === 0 || ys.length === 0) return '';
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [yLog ? Math.min(...ys) : 0, Math.max(...ys)];
  if (x0 === x1) [x0, x1] = xLog ? [x0 / 2, x1 * 2] : [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = yLog ? [y0 / 2, y1 * 2] : [0, y1 * 1.1 + 1];
  if (!yLog) y1 *= 1.05;
  const fx = (v) =>
    m.left + (xLog ? Math.log(v / x0) / Math.log(x1 / x0) : (v - x0) / (x1 - x0)) * (width - m.left - m.right);
  const fy = (v) =>
    height -
    m.bottom -
    (yLog ? Math.log(v / y0) / Math.log(y1 / y0) : (v - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(title)}">`,
    `<text x="${width / 2 - m.right / 2}" y="18" text-anchor="middle" class="title">${esc(title)}</text>`,
  ];
  for (const v of ticks(x0, x1, xLog).filter((v) => v >= x0 * 0.999 && v <= x1 * 1.001))
    parts.push(
      `<line x1="${fx(v)}" x2="${fx(v)}" y1="${m.top}" y2="${height - m.bottom}" class="grid"/><text x="${fx(v)}" y="${height - m.bottom + 16}" text-anchor="middle">${esc(xFormat(v))}</text>`,
    );
  for (const v of ticks(y0, y1, yLog).filter((v) => v >= y0 * 0.999 && v <= y1 * 1.001))
    parts.push(
      `<line x1="${m.left}" x2="${width - m.right}" y1="${fy(v)}" y2="${fy(v)}" class="grid"/><text x="${m.left - 6}" y="${fy(v) + 4}" text-anchor="end">${esc(yFormat(v))}</text>`,
    );
  parts.push(
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${height - m.bottom}" class="axis"/>`,
    `<line x1="${m.left}" x2="${width - m.right}" y1="${height - m.bottom}" y2="${height - m.bottom}" class="axis"/>`,
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 12}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(16 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter((p) => Number.isFinite(p[1]) && (!yLog || p[1] > 0));
    if (pts.length === 0) return;
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${fx(p[0]).toFixed(1)} ${fy(p[1]).toFixed(1)}`).join(' ');
    parts.push(
      `<path d="${d}" class="series" stroke="${color}" fill="none" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    for (const [x, y, spread] of pts) {
      if (spread && spread.max > spread.min)
        parts.push(
          `<line x1="${fx(x)}" x2="${fx(x)}" y1="${fy(spread.min)}" y2="${fy(spread.max)}" stroke="${color}" class="spread"/>`,
        );
      if (!s.noDots)
        parts.push(
          `<circle cx="${fx(x).toFixed(1)}" cy="${fy(y).toFixed(1)}" r="3" fill="${color}" class="datum"><title>${esc(`${s.name}: ${xFormat(x)} → ${yFormat(y)}`)}</title></circle>`,
        );
    }
    parts.push(
      `<rect x="${width - m.right + 12}" y="${m.top + i * 18}" width="12" height="3" fill="${color}"/><text x="${width - m.right + 30}" y="${m.top + i * 18 + 5}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** An SVG horizontal bar chart of `bars` ({label, value, min, max, ours}); every bar a `rect.datum`. */
export function barChart({ title, unit, bars }) {
  const rowHeight = 22;
  const width = 640;
  const left = 300;
  const height = 40 + bars.length * rowHeight + 24;
  const max = Math.max(...bars.map((b) => b.max ?? b.value)) * 1.1 || 1;
  const fx = (v) => ((width - left - 80) * v) / max;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(title)}">`,
    `<text x="${width / 2}" y="18" text-anchor="middle" class="title">${esc(title)}</text>`,
  ];
  bars.forEach((bar, i) => {
    const y = 32 + i * rowHeight;
    parts.push(
      `<text x="${left - 6}" y="${y + 14}" text-anchor="end">${esc(bar.label)}</text>`,
      `<rect x="${left}" y="${y + 3}" width="${Math.max(1, fx(bar.value)).toFixed(1)}" height="${rowHeight - 8}" fill="${bar.ours ? COLORS[0] : '#999'}" class="datum"><title>${esc(`${bar.label}: ${fmtValue(bar.value)} ${unit}`)}</title></rect>`,
      `<text x="${left + fx(bar.value) + 6}" y="${y + 14}">${esc(fmtValue(bar.value))}</text>`,
    );
    if (bar.max > bar.min)
      parts.push(
        `<line x1="${left + fx(bar.min)}" x2="${left + fx(bar.max)}" y1="${y + rowHeight / 2}" y2="${y + rowHeight / 2}" stroke="#000" class="spread"/>`,
      );
  });
  parts.push(
    `<text x="${left}" y="${height - 6}">${esc(unit)} (bar: median; line: min..max of the repetitions)</text></svg>`,
  );
  return parts.join('');
}

const bySeries = (rows) => {
  const map = new Map();
  for (const row of rows) map.set(row.client, [...(map.get(row.client) ?? []), row]);
  return [...map.entries()];
};
const targetsOf = (rows) => [...new Set(rows.map((row) => row.target))];
const point = (x, row) => [x, row.median, { min: row.min, max: row.max }];
const ratioText = (row) =>
  Object.entries(row.ratios ?? {})
    .map(([client, ratio]) => `${ratio.toFixed(2)}× vs ${client}`)
    .join(', ');

/** The figures of the report, each an SVG string with a caption. */
function charts(results) {
  const rows = results.cases;
  const out = [];
  for (const target of targetsOf(rows)) {
    const of = rows.filter((row) => row.target === target);
    const server = of[0].server;
    for (const op of ['GET', 'PUT']) {
      const list = of.filter((row) => row.kind === 'throughput' && row.op === op);
      if (list.length)
        out.push({
          section: 'Throughput by object size',
          svg: lineChart({
            title: `${target} ${op} throughput — ${server}`,
            xLabel: 'object size (one at a time)',
            yLabel: 'MiB/s',
            xLog: true,
            xFormat: fmtSize,
            series: bySeries(list).map(([name, r]) => ({
              name,
              points: r.map((row) => point(row.size, row)),
              dashed: r[0].role === 'baseline',
            })),
          }),
        });
    }
    for (const size of [...new Set(of.filter((row) => row.kind === 'latency').map((row) => row.size))]) {
      const list = of.filter((row) => row.kind === 'latency' && row.size === size);
      out.push({
        section: 'Small-object latency (CDF, one at a time)',
        svg: lineChart({
          title: `${target} GET ${fmtSize(size)} latency CDF — ${server}`,
          xLabel: 'latency (µs, log scale)',
          yLabel: 'percentile',
          xLog: true,
          yFormat: (v) => `${v}%`,
          series: list.map((row) => {
            // The repetition with the median p50 stands for the case.
            const rep = [...row.reps].sort((a, b) => a.p50us - b.p50us)[row.reps.length >> 1];
            return {
              name: `${row.client} (p50 ${fmtValue(row.median)}, p99 ${fmtValue(row.p99us)})`,
              points: rep.cdf.map((us, q) => [us, q]),
              noDots: false,
              dashed: row.role === 'baseline',
            };
          }),
        }),
      });
    }
    const scaling = of.filter((row) => row.kind === 'scaling');
    if (scaling.length)
      out.push({
        section: 'Concurrency scaling',
        svg: lineChart({
          title: `${target} GET ${fmtSize(scaling[0].size)} objects by requests in flight — ${server}`,
          xLabel: 'requests in flight',
          yLabel: 'MiB/s',
          xLog: true,
          xFormat: (v) => String(v),
          series: bySeries(scaling).map(([name, r]) => ({
            name,
            points: r.map((row) => point(row.concurrency, row)),
            dashed: r[0].role === 'baseline',
          })),
        }),
      });
    const beside = of.filter((row) => ['parallel', 'range', 'loader'].includes(row.kind));
    if (beside.length)
      out.push({
        section: 'Our figures beside their baselines',
        svg: barChart({
          title: `${target}: in-flight transfers, RangeEngine, DataLoader — ${server}`,
          unit: 'MiB/s',
          bars: beside.map((row) => ({
            label: `${row.kind} ${row.op} ${fmtSize(row.size)}${row.kind === 'parallel' ? ` ×${row.concurrency}` : ''}${row.variant ? ` ${row.variant}` : ''}: ${row.client}`,
            value: row.median,
            min: row.min,
            max: row.max,
            ours: row.role === 'ours',
          })),
        }),
      });
  }
  return out;
}

/** The plain-text summary: per target, GET and PUT of the in-flight case, beside its baseline. */
export function textSummary(results) {
  const lines = [
    `s3dlio bench suite — ${results.date} — ${results.machine.cpuModel}, ${results.machine.cores} cores, Node ${results.machine.node}, ${results.machine.gitCommit.slice(0, 10)}`,
  ];
  lines.push(`Median of ${results.options.reps} repetitions; ratio > 1: ours is faster.`);
  const rows = results.cases;
  for (const target of targetsOf(rows)) {
    const of = rows.filter((row) => row.target === target);
    lines.push('', `${target} — ${of[0].server}`);
    const parallel = of.filter((row) => row.kind === 'parallel');
    const summaryRows = parallel.length
      ? parallel
      : of.filter(
          (row) =>
            row.kind === 'throughput' &&
            row.size === Math.max(...of.filter((r) => r.kind === 'throughput').map((r) => r.size)),
        );
    for (const op of ['GET', 'PUT']) {
      const ours = summaryRows.find((row) => row.op === op && row.role === 'ours');
      if (!ours) continue;
      lines.push(
        `  ${op} ${fmtSize(ours.size)} × ${ours.concurrency} in flight: ${fmtValue(ours.median)} MiB/s (${fmtValue(ours.min)}..${fmtValue(ours.max)})${ours.ratios && Object.keys(ours.ratios).length ? `, ${ratioText(ours)}` : ''}`,
      );
    }
  }
  if (rows.some((row) => /emulator/.test(row.server))) lines.push('', EMULATOR_NOTE);
  for (const note of results.notes ?? []) lines.push(note);
  for (const skip of results.skipped ?? [])
    lines.push(`SKIPPED ${skip.what}: ${skip.why}; install it with: ${skip.install}`);
  for (const failure of results.failures ?? []) lines.push(`FAILED ${failure.case}: ${failureLine(failure.error)}`);
  return lines.join('\n');
}

/** The self-contained HTML report. */
export function renderHtml(results) {
  const sections = new Map();
  for (const chart of charts(results)) sections.set(chart.section, [...(sections.get(chart.section) ?? []), chart.svg]);
  const m = results.machine;
  const table = results.cases
    .map(
      (row) =>
        `<tr class="${row.role}"><td>${esc(row.target)}</td><td>${esc(row.server)}</td><td>${esc(row.kind)}${row.variant ? ` (${esc(row.variant)})` : ''}</td><td>${row.op}</td><td>${esc(fmtSize(row.size))}</td><td>${row.concurrency}</td><td>${esc(row.client)}</td><td class="n">${esc(fmtValue(row.median))} ${esc(row.metric)}</td><td class="n">${esc(fmtValue(row.min))}..${esc(fmtValue(row.max))}</td><td>${esc(ratioText(row))}</td><td class="n">${row.peakRssBytes ? esc(fmtNumber(row.peakRssBytes / 1048576)) : '-'}</td></tr>`,
    )
    .join('\n');
  const groups = new Set(results.cases.map(groupKey)).size;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>s3dlio bench suite ${esc(results.date)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
svg{background:#fff;border:1px solid #ddd;margin:4px}svg text{font:11px system-ui,sans-serif;fill:#333}
svg .title{font-weight:bold;font-size:12px}.grid{stroke:#eee}.axis{stroke:#666}
.note{background:#fff4d6;border-left:4px solid #e0a800;padding:8px 12px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px}.n{text-align:right}tr.ours{background:#eef5ff}
</style></head><body>
<h1>s3dlio bench suite</h1>
<p class="note">${esc(EMULATOR_NOTE)}</p>
<p>Run ${esc(results.date)}: <code>${esc(results.command)}</code>; ${results.cases.length} cases in ${groups} groups, ${results.options.reps} repetitions each, wall time ${esc(fmtNumber(results.wallSeconds ?? NaN, 1))} s.</p>
<h2>Machine</h2>
<ul><li>CPU: ${esc(m.cpuModel)} (${m.cores} cores), memory ${esc(fmtNumber(m.memoryBytes / 2 ** 30, 1))} GiB</li>
<li>Bench directory: ${esc(m.benchDir)} on ${esc(m.disk.mount)} (device ${esc(m.disk.device)}, model ${esc(m.disk.model)})</li>
<li>Kernel ${esc(m.kernel)}, Node ${esc(m.node)}, s3dlio ${esc(m.packageVersion)} at ${esc(m.gitCommit)}${m.gitDirty ? ' (with uncommitted changes)' : ''}</li></ul>
${(results.notes ?? []).map((note) => `<p>${esc(note)}</p>`).join('\n')}
${(results.skipped ?? []).map((s) => `<p class="note">Skipped ${esc(s.what)}: ${esc(s.why)}; install it with <code>${esc(s.install)}</code></p>`).join('\n')}
${(results.failures ?? []).map((f) => `<p class="note failed">FAILED ${esc(f.case)}: <code>${esc(failureLine(f.error))}</code></p>`).join('\n')}
${[...sections.entries()].map(([title, svgs]) => `<h2>${esc(title)}</h2>\n${svgs.join('\n')}`).join('\n')}
<h2>Every case</h2>
<p>Figure: median over the repetitions (MiB/s, or p50 latency in µs); spread: min..max; ratio above 1: the row is better than the other. Peak RSS: the case's own process (VmHWM).</p>
<table><tr><th>target</th><th>server</th><th>case</th><th>op</th><th>size</th><th>in flight</th><th>client</th><th>median</th><th>spread</th><th>ratio</th><th>peak RSS MiB</th></tr>
${table}
</table>
</body></html>
`;
}
