// The benchmark suite: every backend's throughput, latency, concurrency scaling, RangeEngine and
// DataLoader figures beside baselines measured in the same run, in one command:
//
//   npm run bench -- [--backends file,direct,s3,az,gs] [--quick] [--out DIR] [--reps N] [--dir DIR]
//   npm run bench -- --target s3://bucket/prefix/[,az://account/container/prefix/,gs://bucket/prefix/]
//
// The second form measures real services instead of the local servers: credentials and endpoints
// come from the environment, and the run deletes what it wrote.
// It starts and stops the servers it needs (nginx, moto, Azurite, the GCS test server), runs each
// case in a child process of its own, and writes DIR/results.json (machine facts, every
// repetition, medians), DIR/report.html (self-contained, inline SVG), DIR/summary.txt and
// DIR/summary.md (every figure in tables).
// Ctrl-C stops it cleanly: no server, child process or temporary file is left behind.
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { parseArgs, fmtSize } from './lib/util.mjs';
import { runTool, detectTools } from './suite/baselines.mjs';
import { EMULATORS, caseId, planCases, profile, seedObjects } from './suite/cases.mjs';
import { Lifecycle } from './suite/lifecycle.mjs';
import { markdownSummary } from './suite/markdown.mjs';
import { createProgress } from './suite/progress.mjs';
import { RESULTS_SCHEMA, addRatios, failureLine, machineFacts, resultRow } from './suite/results.mjs';
import { renderHtml, textSummary } from './suite/report.mjs';
import { PACED_MIB_PER_SECOND, Servers, describeTarget, serviceTarget, targetsFor } from './suite/servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const started = process.hrtime.bigint();
const execFileAsync = promisify(execFile);
/** A usage error: the message and the usage line, exit 2. */
function usage(message) {
  process.stderr.write(
    `bench: ${message}\nusage: npm run bench -- [--backends file,direct,s3,az,gs | --target URI[,URI]] [--quick] [--out DIR] [--reps N] [--dir DIR]\n`,
  );
  process.exit(2);
}

let args;
try {
  args = parseArgs(process.argv.slice(2), {
    backends: { type: 'string', default: 'file,direct,s3,az,gs' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(here, 'results', 'suite') },
    reps: { type: 'int', default: 3 },
    dir: { type: 'string', default: os.tmpdir() },
    target: { type: 'string', default: '' },
  });
  if (args.reps < 3) throw new Error('--reps must be at least 3 (medians and spreads need them)');
} catch (error) {
  usage(error.message);
}

if (args.target && process.argv.some((arg) => arg === '--backends' || arg.startsWith('--backends=')))
  usage('--target and --backends exclude each other: --target measures only the services it names');
const backends = [...new Set(args.backends.split(',').filter(Boolean))];
if (backends.length === 0) usage('--backends names none (known: file, direct, s3, az, gs)');
// --target names real services: the run measures them (and no local server) instead.
const targets = (args.target ? args.target.split(',').filter(Boolean) : backends).flatMap((name) => {
  try {
    return args.target ? [serviceTarget(name)] : targetsFor(name);
  } catch (error) {
    return usage(error.message);
  }
});
for (const [index, target] of targets.entries())
  if (targets.findIndex((other) => other.id === target.id) !== index) usage(`two targets are ${target.id}`);
// Where the results go is checked first: a run of minutes must not end unable to write them.
try {
  mkdirSync(args.out, { recursive: true });
  accessSync(args.out, constants.W_OK);
} catch (error) {
  usage(`--out ${args.out}: ${error.message}`);
}
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

/** A case child's answer: the JSON of its last line of output. */
const answerOf = (stdout) => JSON.parse(stdout.trim().split('\n').pop());

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
  return answerOf(result.stdout);
}

const rows = [];
const failures = [];
try {
  // Every server of the run starts first, together: a run that cannot start one fails at once.
  const needed = new Set(
    plan.map(({ target }) => target.serverName).filter((name) => name !== 'disk' && name !== 'service'),
  );
  if (plan.some(({ cases }) => cases.some((c) => c.variant === 'paced'))) needed.add('nginx-paced');
  await Promise.all([...needed].map((name) => servers.get(name)));
  for (const { target, cases } of plan) {
    log(
      `${target.id}: ${target.serverName === 'service' ? 'checking the bucket' : 'starting its server'}, writing its objects`,
    );
    const described = await describeTarget(target, servers, lifecycle.tempDir);
    // The local files the outside tools upload, one per size they PUT.
    const files = [...new Set(cases.filter((c) => c.op === 'PUT' && c.runner !== 'child').map((c) => c.size))].map(
      (size) => ({ path: path.join(lifecycle.tempDir, `src-${size}`), size }),
    );
    // A service target's objects are deleted at the end, however the run ends (Ctrl-C too).
    if (target.serverName === 'service') {
      // The bucket and the credentials first: a run that cannot list there writes nothing.
      await child({ task: 'check', target: described }).catch((error) => {
        throw new Error(
          `${target.id}: cannot list ${described.base} (the bucket must exist, reachable with the environment's credentials): ${error.message.split('\n')[1] ?? error.message}`,
          { cause: error },
        );
      });
      lifecycle.own(async () => {
        log(`${target.id}: deleting what the run wrote, ${described.base}`);
        const spec = JSON.stringify({ task: 'cleanup', target: described });
        try {
          const { stdout } = await execFileAsync(process.execPath, [path.join(here, 'suite', 'case-child.mjs'), spec]);
          log(`${target.id}: deleted ${answerOf(stdout).deleted} object(s)`);
        } catch (error) {
          throw new Error(
            `deleting ${described.base} failed; remove it with \`npx s3dlio rm -r ${described.base}\`: ${error.stderr || error.message}`,
            { cause: error },
          );
        }
      });
    }
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
    options: { ...args, backends: args.target ? [] : backends },
    machine: machineFacts(args.dir),
    skipped,
    failures,
    notes: [
      "peakRssBytes: the peak RSS of the case's own process (VmHWM); maxRssBytes: process.resourceUsage().maxRSS, which Linux carries over from the parent across exec (an upper bound).",
      ...(!args.quick && plan.some(({ target }) => EMULATORS.has(target.serverName))
        ? [
            'Emulators in a full run: objects up to 100 MiB, and 16 MiB objects 16 at a time (moto answers a range request in time proportional to the whole object: a 1 GiB object read as ranges takes minutes there).',
          ]
        : []),
      ...(args.quick && plan.some(({ target }) => EMULATORS.has(target.serverName) || target.serverName === 'service')
        ? [
            '--quick: emulators (moto, Azurite, gcs-server) and real services run the throughput and latency cases only (emulators at the smallest size).',
          ]
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
  // After Ctrl-C the children fail because they were stopped: that is no news.
  if (!lifecycle.signalled) process.stderr.write(`bench: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  await lifecycle.close();
}
