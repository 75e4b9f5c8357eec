/**
 * A jest `filter` for mutation runs: keeps only the test files whose tests cover the active mutant,
 * as recorded by test-file-map-environment.cjs during Stryker's dry run (Stryker then restricts
 * the tests within those files by name). Outside a mutant run (the dry run) every file is kept.
 *
 * At most S3DLIO_MUTATION_MAX_FILES files (default 8, 0 = no limit) are kept per mutant: the most
 * focused on it first. A file's focus on a mutant is its narrowest test covering the mutant (the
 * fewest mutants covered in all): a unit test of the code before a test that drives the whole
 * library, even where both sit in one file; among equals, the file covering fewer mutants in all,
 * then the quicker. A mutant in shared code (the worker pool, option checks) is covered by most of
 * the suite, and running all of it for each such mutant is what made a run take many hours here.
 * A mutant that survives its files counts as survived even if a test elsewhere would kill it, so
 * the score is a lower bound; rerun the survivors of interest with the limit off.
 */
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');

/** In the sandbox: Stryker starts its test runners there. */
const MAP_FILE = path.join(process.cwd(), '.stryker-test-files.jsonl');

/** A non-negative integer setting from the environment, `fallback` when unset. */
function envCount(name, fallback) {
  const raw = process.env[name] ?? String(fallback);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** How many covering files a mutant is tested with (0: all of them). */
const maxFiles = () => envCount('S3DLIO_MUTATION_MAX_FILES', 8);

/** Mutant id → its covering files, most focused first, at most maxFiles() of them. */
let filesByMutant;
/** Test file → how long it took in the dry run, in milliseconds. */
let dryRunTimes;
let warned = false;

function load() {
  const limit = maxFiles();
  const records = existsSync(MAP_FILE)
    ? readFileSync(MAP_FILE, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
    : [];
  dryRunTimes = new Map(records.map(({ file, ms }) => [file, ms]));
  const candidates = new Map();
  for (const { file, ms, mutants, widths } of records) {
    mutants.forEach((id, i) => {
      if (!candidates.has(id)) candidates.set(id, []);
      // A record without widths (an older map) ranks by the file's breadth alone.
      candidates.get(id).push({ file, width: widths?.[i] ?? mutants.length, breadth: mutants.length, ms });
    });
  }
  filesByMutant = new Map();
  for (const [id, files] of candidates) {
    files.sort((a, b) => a.width - b.width || a.breadth - b.breadth || a.ms - b.ms);
    filesByMutant.set(
      id,
      (limit === 0 ? files : files.slice(0, limit)).map(({ file }) => file),
    );
  }
}

/**
 * Mutants a test has failed for in the current jest run of this process (filled by the
 * environment, test-file-map-environment.cjs, which skips their later tests; read by the runner,
 * test-file-runner.cjs, which skips the later files). Each run starts afresh: this filter runs
 * once at the start of every jest run. One set per process, not per copy of this module: Stryker
 * loads the environment from the project and the runner from its sandbox, two copies.
 */
const killed = (globalThis[Symbol.for('s3dlio.mutation.killed')] ??= new Set());

/**
 * The time budget of the mutant run under way, shared the same way: the runner sets `deadline`
 * (epoch milliseconds; Infinity: none) when the run starts; the environment counts the tests
 * `started`, starts none after the deadline once one has run (loading the first file can take
 * the whole budget on a busy machine, and a mutant no test ran for is no survivor), and sets
 * `cut` when that left a test out.
 */
const budget = (globalThis[Symbol.for('s3dlio.mutation.budget')] ??= { deadline: Infinity, started: 0, cut: false });

/** Resets the budget for a mutant run that starts now (`ms` = 0: no budget). */
function startBudget(ms) {
  budget.deadline = ms > 0 ? Date.now() + ms : Infinity;
  budget.started = 0;
  budget.cut = false;
}

/** Whether the run has had its budget: the deadline passed and at least one test ran. */
function budgetSpent() {
  return budget.started > 0 && Date.now() >= budget.deadline;
}

async function filter(testPaths) {
  const active = process.env.__STRYKER_ACTIVE_MUTANT__;
  killed.clear();
  if (active === undefined) return { filtered: testPaths };
  if (filesByMutant === undefined) load();
  const files = filesByMutant.get(active);
  if (files === undefined) {
    // Stryker runs a mutant with a test filter only when the dry run saw a test cover it; a static
    // mutant (run with every test) is not in the map: keep every file, and say so once.
    if (!warned) {
      warned = true;
      process.stderr.write(`test-file-filter: mutant ${active} is not in ${MAP_FILE}; running every test file\n`);
    }
    return { filtered: testPaths };
  }
  return { filtered: testPaths.filter((testPath) => files.includes(testPath)) };
}

/** The place of `testPath` among the files of mutant `id`, most focused first (Infinity: not one). */
function focusRank(id, testPath) {
  if (filesByMutant === undefined) load();
  const rank = filesByMutant.get(id)?.indexOf(testPath) ?? -1;
  return rank === -1 ? Infinity : rank;
}

/**
 * How long one test or hook of `testPath` may run in a mutant run before it fails as hung: none can
 * legitimately take longer than its whole file took in the dry run, so 5 s plus four times that
 * (three runners share two cores). Undefined for a file the dry run did not record. Without it a
 * mutant that makes a stream wait forever held its runner for jest's 60 s testTimeout: 17 of 505
 * mutant runs, half of the run's time.
 */
function hangLimitMs(testPath) {
  if (dryRunTimes === undefined) load();
  const ms = dryRunTimes.get(testPath);
  return ms === undefined ? undefined : 5000 + 4 * ms;
}

module.exports = filter;
module.exports.hangLimitMs = hangLimitMs;
module.exports.MAP_FILE = MAP_FILE;
module.exports.focusRank = focusRank;
module.exports.killed = killed;
module.exports.budget = budget;
module.exports.startBudget = startBudget;
module.exports.budgetSpent = budgetSpent;
module.exports.maxFiles = maxFiles;
module.exports.envCount = envCount;
