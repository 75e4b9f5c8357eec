/**
 * The jest environment of mutation runs: the node environment, plus, during Stryker's dry run, a
 * record of which mutants each test file's tests cover, and how long the file took (one JSON line
 * per file in `.stryker-test-files.jsonl` of the sandbox). test-file-filter.cjs reads it so that a mutant run
 * loads only the files holding the tests that cover the mutant; Stryker's jest runner alone loads
 * every test file for every mutant and filters by test name, which here costs seconds per mutant
 * (each cloud test file imports three SDKs) for tests it then skips.
 */
'use strict';
const { appendFileSync } = require('node:fs');
const { TestEnvironment } = require('jest-environment-node');
// `killed`: the mutants a test failed for in this jest run. Jest takes no `bail` from Stryker's
// runner (its programmatic API ignores it), so every covering file would run its covering tests in
// full for a mutant an earlier file already killed. Instead, a file that starts after the kill
// runs nothing: its tests are skipped and its hooks emptied (all of them, so that no afterAll
// cleans up what a skipped test or hook would have made, which would fail the suite and turn the
// mutant into a RuntimeError). The file still loads (jest has chosen it). The file where the kill
// happens runs to its end as usual.
const { MAP_FILE, killed } = require('./test-file-filter.cjs');

const nothing = () => undefined;

class TestFileMapEnvironment extends TestEnvironment {
  #testPath;
  #covered = new Set();
  #started = Date.now();

  /** The active mutant was killed before this file started: run nothing. */
  #bailed;

  constructor(config, context) {
    super(config, context);
    this.#testPath = context.testPath;
    const active = process.env.__STRYKER_ACTIVE_MUTANT__;
    this.#bailed = active !== undefined && killed.has(active);
  }

  async handleTestEvent(event) {
    const active = process.env.__STRYKER_ACTIVE_MUTANT__;
    if (active !== undefined) {
      // A mutant run: a file that starts after the mutant was killed runs nothing (see `killed`).
      if (this.#bailed) {
        if (event.name === 'test_start') event.test.mode = 'skip';
        if (event.name === 'hook_start') event.hook.fn = nothing;
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
    if (hits) for (const id of Object.keys(hits)) this.#covered.add(id);
  }

  async teardown() {
    if (this.#covered.size > 0) {
      const record = { file: this.#testPath, ms: Date.now() - this.#started, mutants: [...this.#covered] };
      appendFileSync(MAP_FILE, `${JSON.stringify(record)}\n`);
    }
    await super.teardown();
  }
}

module.exports = TestFileMapEnvironment;
