#!/usr/bin/env node
/**
 * Reads reports/mutation/report.json (StrykerJS's JSON report) and prints the mutation score per
 * scope: the scored folders (bar: 80%) and lib/backends (reported only), then every mutant
 * ignored by a `// Stryker disable` comment with its reason, and the survivors of the scored
 * scope. Exits 1 when the scored scope is under the bar.
 *
 *   node scripts/mutation/score.js [--mutate <specs>]
 *
 * The report holds every result Stryker knows, including those of files a narrowed run
 * (`--mutate`) did not test: they are carried over from earlier runs, measured with the tests of
 * then. Given the run's `--mutate` specs (as scripts/mutation/run.js passes them), the score of
 * the mutants this run tested is printed first, apart from the carried-over ones.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '../..');
const { isReported, isScored } = require('./scopes.cjs');

const BAR = 80;
const SCOPES = [
  {
    name: 'scored (internal, engine, uri, loader, formats, cloud plumbing)',
    test: isScored,
    bar: BAR,
  },
  { name: 'lib/backends (reported, no bar)', test: isReported },
];

/**
 * Whether a mutant is inside one of Stryker's `--mutate` specs: a glob, or a file with a line
 * range (`lib/uri.ts:10-20`, columns optional: `lib/uri.ts:10:4-20:1`).
 */
function inSpecs(specs, file, mutant) {
  const { minimatch } = require('minimatch');
  return specs.some((spec) => {
    const range = /^(.*?):(\d+)(?::\d+)?-(\d+)(?::\d+)?$/.exec(spec);
    if (!range) return minimatch(file, spec);
    const [, glob, from, to] = range;
    const { start, end } = mutant.location;
    return minimatch(file, glob) && start.line >= Number(from) && end.line <= Number(to);
  });
}

const mutateAt = process.argv.indexOf('--mutate');
const specs = mutateAt === -1 ? undefined : process.argv[mutateAt + 1].split(',').filter(Boolean);

const reportFile = path.join(root, 'reports/mutation/report.json');
const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
const files = Object.entries(report.files).map(([file, data]) => [path.relative(root, path.resolve(root, file)), data]);

function tally(entries) {
  const count = {};
  for (const [, data] of entries) for (const m of data.mutants) count[m.status] = (count[m.status] ?? 0) + 1;
  const detected = (count.Killed ?? 0) + (count.Timeout ?? 0);
  const valid = detected + (count.Survived ?? 0) + (count.NoCoverage ?? 0);
  return { count, score: valid === 0 ? 100 : (100 * detected) / valid, valid };
}

/** `  Killed 10, Survived 2, …` */
const statusCounts = (count) =>
  `  ${Object.entries(count)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`;

/** The mutants this run tested: all of them, or those inside its `--mutate` specs. */
const tested =
  specs === undefined
    ? files
    : files.map(([file, data]) => [file, { mutants: data.mutants.filter((m) => inSpecs(specs, file, m)) }]);

if (specs !== undefined) {
  for (const scope of SCOPES) {
    const { count, score, valid } = tally(tested.filter(([file]) => scope.test(file)));
    if (valid === 0) continue;
    console.log(
      `\nThis run (${specs.length} --mutate spec(s)), ${scope.name}: ${score.toFixed(1)}% of ${valid} mutants`,
    );
    console.log(statusCounts(count));
  }
  console.log('\nEvery result known, those carried over from earlier runs included:');
}

let failed = false;
for (const scope of SCOPES) {
  const entries = files.filter(([file]) => scope.test(file));
  const { count, score, valid } = tally(entries);
  const bar =
    scope.bar === undefined ? '' : score >= scope.bar ? ` (bar ${scope.bar}%: met)` : ` (bar ${scope.bar}%: NOT met)`;
  if (scope.bar !== undefined && score < scope.bar) failed = true;
  console.log(`\n${scope.name}: ${score.toFixed(1)}% of ${valid} mutants${bar}`);
  console.log(statusCounts(count));
  const perFile = entries.map(([file, data]) => [file, tally([[file, data]])]).sort((a, b) => a[1].score - b[1].score);
  for (const [file, t] of perFile)
    console.log(`  ${t.score.toFixed(1).padStart(5)}%  ${String(t.valid).padStart(4)}  ${file}`);
}

const undetected = files
  .filter(([file]) => SCOPES[0].test(file))
  .flatMap(([file, data]) =>
    data.mutants
      .filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')
      .map((m) => `  ${file}:${m.location.start.line} ${m.status} ${m.mutatorName} → ${JSON.stringify(m.replacement)}`),
  );
console.log(`\nUndetected in the scored scope: ${undetected.length}`);
for (const line of undetected) console.log(line);

const ignored = files.flatMap(([file, data]) =>
  data.mutants.filter((m) => m.status === 'Ignored').map((m) => ({ file, mutant: m })),
);
const byMessage = ignored.filter(({ mutant }) => /error-message-ignorer/.test(mutant.statusReason ?? ''));
const statics = ignored.filter(({ mutant }) => /^Static mutant/.test(mutant.statusReason ?? ''));
const accepted = ignored.filter((entry) => !byMessage.includes(entry) && !statics.includes(entry));
console.log(`\nLeft out: ${byMessage.length} in error-message text (error-message-ignorer.mjs)`);
console.log(
  `Left out: ${statics.length} static (run only while a module loads, so no single test covers them: ` +
    'module-level tables and defaults, pinned by their own tests; see README "Mutation testing")',
);
console.log(`Accepted as equivalent (\`// Stryker disable\` with a reason): ${accepted.length}`);
for (const { file, mutant } of accepted) {
  console.log(`  ${file}:${mutant.location.start.line} ${mutant.mutatorName}: ${mutant.statusReason ?? ''}`);
}
const maxFiles = require('./test-file-filter.cjs').maxFiles();
const budget = require('./test-file-runner.cjs').budgetMs();
const limits = [
  maxFiles === 0 ? undefined : `the tests of at most ${maxFiles} covering test files (the most focused)`,
  budget === 0 ? undefined : `no further file after ${budget / 1000} s of tests without a kill`,
].filter(Boolean);
if (limits.length > 0) {
  console.log(
    `\nEach mutant was tested with ${limits.join(', and ')}: a lower bound of the score ` +
      '(S3DLIO_MUTATION_MAX_FILES=0 and S3DLIO_MUTATION_BUDGET_MS=0 lift the limits).',
  );
}
// Which survivors of this run the budget cut short: the ones worth a rerun without it.
const timingFile = path.join(root, 'reports/mutation/timing.jsonl');
if (fs.existsSync(timingFile)) {
  const cut = new Set(
    fs
      .readFileSync(timingFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((run) => run.budgetCut)
      .map((run) => run.mutant),
  );
  const survivors = tested.flatMap(([, data]) => data.mutants.filter((m) => m.status === 'Survived'));
  const cutSurvivors = survivors.filter((m) => cut.has(m.id)).length;
  console.log(`Survivors of this run that the time budget cut short: ${cutSurvivors} of ${survivors.length}.`);
}
process.exit(failed ? 1 : 0);
