/**
 * The jest environment of mutation runs: the node environment, plus, during Stryker's dry run, a
 * record of which mutants each test file's tests cover, how narrow the narrowest test covering
 * each one is (how many mutants that test covers: a unit test of the code, or a test that drives
 * the whole library), and how long the file took (one JSON line per file in
 * `.stryker-test-files.jsonl` of the sandbox). test-file-filter.cjs reads it so that a mutant run
 * loads only the files holding the tests that cover the mutant; Stryker's jest runner alone loads
 * every test file for every mutant and filters by test name, which here costs seconds per mutant
 * (each cloud test file imports three SDKs) for tests it then skips.
 */
'use strict';
const { appendFileSync } = require('node:fs');
const { TestEnvironment } = require('jest-environment-node');
// `killed`: the mutants a test failed for in this jest run. Jest takes no `bail` from Stryker's
// runner (its programmatic API ignores it), so every covering test would run for a mutant an
// earlier test already killed. Instead, once one test fails for the mutant, the file's later tests
// are skipped (its hooks still run, so afterAll cleans up what beforeAll made), and
// test-file-runner.cjs does not load the files after it.
// `budget`: once the mutant run has had its time budget (test-file-runner.cjs), no further test
// starts either.
const { MAP_FILE, budget, budgetSpent, hangLimitMs, killed } = require('./test-file-filter.cjs');

class TestFileMapEnvironment extends TestEnvironment {
  #testPath;
  /** Mutant id → the fewest mutants any test of this file that covers it covers (its narrowest test). */
  #covered = new Map();
  #started = Date.now();

  constructor(config, context) {
    super(config, context);
    this.#testPath = context.testPath;
  }

  async handleTestEvent(event) {
    const active = process.env.__STRYKER_ACTIVE_MUTANT__;
    if (active !== undefined) {
      // A mutant run: once a test has killed the mutant, or the run has had its time budget, the
      // tests after it are skipped; a test or hook that runs far longer than its file did in the
      // dry run fails as hung (hangLimitMs).
      if (event.name === 'test_start') {
        if (killed.has(active)) {
          event.test.mode = 'skip';
        } else if (budgetSpent()) {
          event.test.mode = 'skip';
          budget.cut = true;
        } else {
          budget.started++;
        }
        event.test.timeout = this.#hangLimit(event.test.timeout);
      } else if (event.name === 'hook_start') {
        event.hook.timeout = this.#hangLimit(event.hook.timeout);
      } else if (event.name === 'test_done' && event.test.errors.length > 0) {
        killed.add(active);
      }
      return;
    }
    // The dry run. Stryker's environment mixin extends this class and sets `currentTestId` after
    // this handler on test_start, and clears it after this handler on test_done: here it still
    // names the test.
    if (event.name !== 'test_done') return;
    const stryker = this.global[this.global.__strykerGlobalNamespace__ ?? '__stryker__'];
    const hits = stryker?.currentTestId ? stryker.mutantCoverage?.perTest?.[stryker.currentTestId] : undefined;
    if (!hits) return;
    const ids = Object.keys(hits);
    for (const id of ids) this.#covered.set(id, Math.min(this.#covered.get(id) ?? Infinity, ids.length));
  }

  /** The timeout of a test or hook in a mutant run: its own, or the file's hang limit if lower. */
  #hangLimit(timeout) {
    const limit = hangLimitMs(this.#testPath);
    return limit === undefined ? timeout : Math.min(timeout ?? Infinity, limit);
  }

  async teardown() {
    if (this.#covered.size > 0) {
      const record = {
        file: this.#testPath,
        ms: Date.now() - this.#started,
        mutants: [...this.#covered.keys()],
        widths: [...this.#covered.values()],
      };
      appendFileSync(MAP_FILE, `${JSON.stringify(record)}\n`);
    }
    await super.teardown();
  }
}

module.exports = TestFileMapEnvironment;
