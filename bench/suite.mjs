// The benchmark suite: every backend's throughput, latency, concurrency scaling, RangeEngine and
// DataLoader figures beside baselines measured in the same run, in one command:
//
//   npm run bench -- [--backends file,direct,s3,az,gs] [--quick] [--out DIR] [--reps N] [--dir DIR]
//
// It starts and stops the servers it needs (nginx, moto, Azurite, the GCS test server), runs each
// case in a child process of its own, and writes DIR/results.json (machine facts, every
// repetition, medians), DIR/report.html (self-contained, inline SVG), DIR/summary.txt and
// DIR/summary.md (every figure in tables).
// Ctrl-C stops it cleanly: no server, child process or temporary file is left behind.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseArgs, fmtSize } from './lib/util.mjs';
import { runTool, detectTools } from './suite/baselines.mjs';
import { caseId, planCases, profile, seedObjects } from './suite/cases.mjs';
import { Lifecycle } from './suite/lifecycle.mjs';
import { markdownSummary } from './suite/markdown.mjs';
import { createProgress } from './suite/progress.mjs';
import { RESULTS_SCHEMA, addRatios, failureLine, machineFacts, resultRow } from './suite/results.mjs';
import { renderHtml, textSummary } from './suite/report.mjs';
import { PACED_MIB_PER_SECOND, Servers, describeTarget, targetsFor } from './suite/servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const started = process.hrtime.bigint();
let args;
try {
  args = parseArgs(process.argv.slice(2), {
    backends: { type: 'string', default: 'file,direct,s3,az,gs' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(here, 'results', 'suite') },
    reps: { type: 'int', default: 3 },
    dir: { type: 'string', default: os.tmpdir() },
  });
  if (args.reps < 3) throw new Error('--reps must be at least 3 (medians and spreads need them)');
} catch (error) {
  process.stderr.write(
    `bench: ${error.message}\nusage: npm run bench -- [--backends file,direct,s3,az,gs] [--quick] [--out DIR] [--reps N] [--dir DIR]\n`,
  );
  process.exit(2);
}

const backends = [...new Set(args.backends.split(',').filter(Boolean))];
if (backends.length === 0) {
  process.stderr.write('bench: --backends names none (known: file, direct, s3, az, gs)\n');
  process.exit(2);
}
const targets = backends.flatMap((backend) => {
  try {
    return targetsFor(backend);
  } catch (error) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
});
const p = profile(args.quick);
const { tools, skipped } = detectTools();
const plan = targets.map((target) => ({ target, cases: planCases(target, p, { quick: args.quick, tools }) }));
const total = plan.reduce((sum, { cases }) => sum + cases.length, 0);

// CI installs every baseline tool (S3DLIO_REQUIRE_TOOLS=1, as for the tests): there a missing one
// fails the run instead of being skipped.
if (process.env.S3DLIO_REQUIRE_TOOLS === '1' && skipped.length > 0) {
  for (const skip of skipped) process.stderr.write(`bench: ${skip.why}: install it with \`${skip.install}\`\n`);
  process.exit(1);
}
const progress = createProgress(total);
const log = (message) => progress.log(message);
for (const skip of skipped) log(`SKIPPED ${skip.what}: ${skip.why}; install it with: ${skip.install}`);
const lifecycle = new Lifecycle({ tempParent: args.dir, log });
lifecycle.onChild = (child) => progress.detail(`child pid ${child.pid}`);
log(`temporary directory ${lifecycle.tempDir}`);
const pacedMiBs = PACED_MIB_PER_SECOND[args.quick ? 'quick' : 'full'];
const servers = new Servers(lifecycle, log, { pacedMiBs });

/** Runs the case-child with `spec`; its JSON answer. */
async function child(spec) {
  const result = await lifecycle.run(process.execPath, [
    path.join(here, 'suite', 'case-child.mjs'),
    JSON.stringify(spec),
  ]);
  if (result.status !== 0)
    throw new Error(
      `case ${spec.client ?? spec.task} failed (exit ${result.status ?? result.signal}):\n${result.stderr}`,
    );
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

const rows = [];
const failures = [];
try {
  // Every server of the run starts first, together: a run that cannot start one fails at once.
  const needed = new Set(plan.map(({ target }) => target.serverName).filter((name) => name !== 'disk'));
  if (plan.some(({ cases }) => cases.some((c) => c.variant === 'paced'))) needed.add('nginx-paced');
  await Promise.all([...needed].map((name) => servers.get(name)));
  for (const { target, cases } of plan) {
    log(`${target.id}: starting its server and writing its objects`);
    const described = await describeTarget(target, servers, lifecycle.tempDir);
    // The local files the outside tools upload, one per size they PUT.
    const files = [...new Set(cases.filter((c) => c.op === 'PUT' && c.runner !== 'child').map((c) => c.size))].map(
      (size) => ({ path: path.join(lifecycle.tempDir, `src-${size}`), size }),
    );
    const seeded = await child({ task: 'seed', target: described, objects: seedObjects(cases), files });
    if (Object.keys(seeded.gcsHashes).length > 0) await (await servers.get('nginx')).addGcsHashes(seeded.gcsHashes);
    for (const c of cases) {
      const name = `${c.target} ${c.kind} ${c.op} ${fmtSize(c.size)} ×${c.concurrency} ${c.client}${c.variant ? ` ${c.variant}` : ''}`;
      progress.start(name);
      const where =
        c.variant === 'paced' ? await describeTarget(target, servers, lifecycle.tempDir, { paced: true }) : described;
      const caseStart = process.hrtime.bigint();
      try {
        const measured =
          c.runner === 'child'
            ? await child({ ...c, task: 'run', target: where, reps: args.reps })
            : await runTool(c, where, { lifecycle, tempDir: lifecycle.tempDir, reps: args.reps });
        measured.caseSeconds = Number(process.hrtime.bigint() - caseStart) / 1e9;
        rows.push(resultRow(c, measured));
      } catch (error) {
        // One failed case does not cost the others of a long run: it is reported with its error,
        // and the run exits 1 at the end. Ctrl-C stops everything.
        if (lifecycle.closed) throw error;
        const message = String(error?.message ?? error);
        failures.push({ case: name, id: caseId(c), error: message.slice(0, 4000) });
        log(`FAILED ${name}: ${failureLine(message)}`);
      }
      progress.finish();
    }
  }
  progress.stop();
  const results = {
    schema: RESULTS_SCHEMA,
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    options: { ...args, backends },
    machine: machineFacts(args.dir),
    skipped,
    failures,
    notes: [
      "peakRssBytes: the peak RSS of the case's own process (VmHWM); maxRssBytes: process.resourceUsage().maxRSS, which Linux carries over from the parent across exec (an upper bound).",
      ...(!args.quick && rows.some((row) => /emulator/.test(row.server))
        ? [
            'Emulators in a full run: objects up to 100 MiB, and 16 MiB objects 16 at a time (moto answers a range request in time proportional to the whole object: a 1 GiB object read as ranges takes minutes there).',
          ]
        : []),
      ...(args.quick && rows.some((row) => /emulator/.test(row.server))
        ? ['--quick: emulators (moto, Azurite, gcs-server) run the throughput and latency cases only.']
        : []),
      ...plan
        .filter(({ target }) => target.uploads === false)
        .map(
          ({ target }) =>
            `${target.id}: GETs only (GCS uploads are POSTs naming the object in the query, which nginx cannot take); its PUT figures come from the emulator.`,
        ),
      ...(rows.some((row) => row.variant === 'paced')
        ? [
            `range (paced): every GET response paced at ${pacedMiBs} MiB/s per connection by a throttling proxy in front of nginx (the RangeEngine's regime); the library has no client-side pacing option.`,
          ]
        : []),
    ],
    wallSeconds: Number(process.hrtime.bigint() - started) / 1e9,
    cases: addRatios(rows),
  };
  mkdirSync(args.out, { recursive: true });
  writeFileSync(path.join(args.out, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(path.join(args.out, 'report.html'), renderHtml(results));
  const summary = textSummary(results);
  writeFileSync(path.join(args.out, 'summary.txt'), `${summary}\n`);
  writeFileSync(path.join(args.out, 'summary.md'), markdownSummary(results));
  process.stdout.write(
    `${summary}\n\nResults: ${path.join(args.out, 'results.json')}\nReport: ${path.join(args.out, 'report.html')}\n`,
  );
  if (failures.length > 0) {
    process.stderr.write(
      `bench: ${failures.length} case(s) failed:\n${failures.map((f) => `  ${f.case}: ${failureLine(f.error)}`).join('\n')}\n`,
    );
    process.exitCode = 1;
  }
} catch (error) {
  progress.stop();
  process.stderr.write(`bench: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  await lifecycle.close();
}
