// Results of a run: the machine it ran on, every repetition of every case, medians and spreads,
// each figure's ratio to its baselines; and the comparison of two runs (bench:compare).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { PACKAGE_ROOT } from '../lib/load.mjs';
import { blockDeviceStats, median } from '../lib/util.mjs';
import { caseId } from './cases.mjs';

/** A failed case's error in one line: its first lines (the child's own message among them). */
export const failureLine = (error) =>
  String(error)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(0, 3)
    .join(' | ')
    .slice(0, 400);

/** Results format version (bench:compare refuses others). */
export const RESULTS_SCHEMA = 1;

/** What every emulator figure is for, said in results and the report. */
export const EMULATOR_NOTE =
  'Figures from emulators (moto, Azurite, gcs-server) are for correctness and relative comparison (ours vs a baseline on the same server), never cloud speed: these servers move ~100 MB/s on loopback. nginx serves files at kernel speed: its figures measure the clients.';

function tryText(fn) {
  try {
    return fn().trim();
  } catch {
    return undefined;
  }
}

/** CPU, memory, the bench directory's disk and filesystem, kernel, Node, package and commit. */
export function machineFacts(benchDir) {
  const cpuinfo = tryText(() => readFileSync('/proc/cpuinfo', 'utf8')) ?? '';
  const mount = tryText(() =>
    execFileSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE', '--target', benchDir], { encoding: 'utf8' }),
  );
  const device = blockDeviceStats(benchDir)?.name;
  const diskModel =
    device &&
    (tryText(() => readFileSync(`/sys/class/block/${device}/device/model`, 'utf8')) ??
      tryText(() => readFileSync(`/sys/class/block/${device}/../device/model`, 'utf8')) ??
      tryText(
        () => `vendor ${readFileSync(`/sys/class/block/${device}/device/vendor`, 'utf8').trim()}, no model reported`,
      ));
  const git = (args) =>
    tryText(() =>
      execFileSync('git', args, { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    );
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model,
    cores: os.cpus().length,
    memoryBytes: os.totalmem(),
    benchDir,
    disk: { device: device ?? 'unknown', model: diskModel ?? 'unknown (no model reported)', mount: mount ?? 'unknown' },
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    packageVersion: JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version,
    gitCommit: git(['rev-parse', 'HEAD']) ?? 'unknown',
    gitDirty: (git(['status', '--porcelain']) ?? '') !== '',
  };
}

const MiB = 1024 * 1024;

/** The figure of one repetition: p50 latency (µs) for latency cases, else MiB/s. */
export function repValue(kind, rep) {
  return kind === 'latency' ? rep.p50us : rep.bytes / MiB / rep.seconds;
}

/** A result row from a case and what its child (or tool) returned. */
export function resultRow(c, measured) {
  const values = measured.reps.map((rep) => repValue(c.kind, rep));
  const row = {
    id: caseId(c),
    target: c.target,
    backend: c.backend,
    server: c.server,
    kind: c.kind,
    op: c.op,
    size: c.size,
    concurrency: c.concurrency,
    client: c.client,
    role: c.role,
    variant: c.variant,
    metric: c.kind === 'latency' ? 'p50 µs' : 'MiB/s',
    higherIsBetter: c.kind !== 'latency',
    reps: measured.reps,
    values,
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    opsPerSecond: median(measured.reps.map((rep) => rep.ops / rep.seconds)),
    peakRssBytes: measured.peakRssBytes,
    maxRssBytes: measured.maxRssBytes,
  };
  if (c.kind === 'latency') row.p99us = median(measured.reps.map((rep) => rep.p99us));
  if (measured.command) row.command = measured.command;
  if (measured.caseSeconds !== undefined) row.caseSeconds = measured.caseSeconds;
  return row;
}

/** The rows measured against each other: one target, kind, op, size, concurrency and variant. */
export const groupKey = (row) => [row.target, row.kind, row.op, row.size, row.concurrency, row.variant].join('|');

/** `rows` in their groups (see groupKey), in the order each group first appears. */
export function groupRows(rows) {
  const groups = new Map();
  for (const row of rows) groups.set(groupKey(row), [...(groups.get(groupKey(row)) ?? []), row]);
  return [...groups.values()];
}

/**
 * Adds each row's ratios: ours to every baseline of its group, a baseline to ours. A ratio above
 * 1 means the row is better (faster, or lower latency).
 */
export function addRatios(rows) {
  for (const group of groupRows(rows)) {
    for (const row of group) {
      const others = group.filter((other) => other !== row && other.role !== row.role);
      row.ratios = Object.fromEntries(
        others.map((other) => [
          other.client,
          row.higherIsBetter ? row.median / other.median : other.median / row.median,
        ]),
      );
    }
  }
  return rows;
}

/**
 * The difference per case between two results: `changed` only where the spreads (min..max of
 * the repetitions) of both sides do not overlap, `better`/`worse` by the metric's direction.
 */
export function compareResults(a, b) {
  for (const [name, results] of [
    ['A', a],
    ['B', b],
  ]) {
    if (results?.schema !== RESULTS_SCHEMA || !Array.isArray(results.cases))
      throw new Error(`${name} is not a bench suite results file (schema ${RESULTS_SCHEMA})`);
  }
  const byId = new Map(a.cases.map((row) => [row.id, row]));
  const rows = [];
  for (const after of b.cases) {
    const before = byId.get(after.id);
    if (!before) {
      rows.push({ id: after.id, status: 'only in B', after });
      continue;
    }
    byId.delete(after.id);
    const beyond = after.min > before.max || after.max < before.min;
    const up = after.median > before.median;
    const status = !beyond ? 'within spread' : up === after.higherIsBetter ? 'better' : 'worse';
    rows.push({ id: after.id, status, before, after, change: after.median / before.median - 1 });
  }
  for (const before of byId.values()) rows.push({ id: before.id, status: 'only in A', before });
  return rows;
}
