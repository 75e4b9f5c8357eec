/**
 * The jest runner of mutation runs: jest's own runner, one test file at a time (Stryker runs jest
 * in band), except that during a mutant run it stops loading files
 *   - once the mutant is killed: the rest cannot change the verdict. Loading a file costs a fresh
 *     module registry, lib/ and three cloud SDKs; before this runner each killed mutant loaded up
 *     to seven files only to skip their tests;
 *   - once the mutant has had its time budget, S3DLIO_MUTATION_BUDGET_MS of tests without a kill
 *     (default 10000, 0 = none); no further test of the file under way starts either
 *     (test-file-map-environment.cjs skips them). Survivors are what a run spends its time on: a
 *     caught mutant takes under a second here (the median), a survivor of shared code up to a
 *     minute (every covering file in full). A mutant that would have been killed by a test after
 *     its budget counts as survived: like the file cap (test-file-filter.cjs), this makes the
 *     score a lower bound.
 * A file not loaded is reported as skipped, like a file whose tests the name filter left out.
 *
 * With S3DLIO_MUTATION_TIMING=<file>, one JSON line per mutant run is appended there: the mutant,
 * its files run and skipped, whether the budget cut it short, and the milliseconds.
 */
'use strict';
const { appendFileSync } = require('node:fs');
const path = require('node:path');
const TestRunner = require('jest-runner').default;
const { createEmptyTestResult } = require('@jest/test-result');
const { budget: runBudget, budgetSpent, envCount, killed, startBudget } = require('./test-file-filter.cjs');

/** Milliseconds of tests a mutant gets before no further test starts for it (0: no limit). */
const budgetMs = () => envCount('S3DLIO_MUTATION_BUDGET_MS', 10000);

class BailingTestRunner extends TestRunner {
  async runTests(tests, watcher, options) {
    const active = process.env.__STRYKER_ACTIVE_MUTANT__;
    if (active === undefined || !options.serial) return super.runTests(tests, watcher, options);
    const budget = budgetMs();
    const started = Date.now();
    startBudget(budget);
    const ran = [];
    let skipped = 0;
    let cut = false;
    for (const test of tests) {
      const caught = killed.has(active);
      if (caught || budgetSpent()) {
        cut ||= !caught;
        skipped++;
        await this.#reportSkipped(
          test,
          caught ? 'the mutant was killed by an earlier file' : 'the mutant had its time budget',
        );
      } else {
        ran.push(test.path);
        await super.runTests([test], watcher, options);
      }
    }
    cut ||= runBudget.cut;
    startBudget(0);
    const log = process.env.S3DLIO_MUTATION_TIMING;
    if (log) {
      const root = tests[0]?.context.config.rootDir ?? process.cwd();
      const name = (file) => path.relative(root, file);
      const record = {
        mutant: active,
        ms: Date.now() - started,
        killed: killed.has(active),
        budgetCut: cut,
        ran: ran.map(name),
        skipped,
      };
      appendFileSync(log, `${JSON.stringify(record)}\n`);
    }
  }

  /** Jest core's listeners, by event: jest's runner keeps its emitter private. */
  #listeners = new Map();

  on(eventName, listener) {
    if (!this.#listeners.has(eventName)) this.#listeners.set(eventName, []);
    this.#listeners.get(eventName).push(listener);
    return super.on(eventName, listener);
  }

  /**
   * A skipped file, as jest reports one whose tests the name filter left out, with one pending
   * entry standing for its tests (jest fails a file result that has none).
   */
  async #reportSkipped(test, why) {
    const title = `not loaded: ${why}`;
    const pending = {
      ancestorTitles: [],
      duration: 0,
      failureDetails: [],
      failureMessages: [],
      fullName: `${test.path}: ${title}`,
      numPassingAsserts: 0,
      status: 'pending',
      title,
    };
    const result = {
      ...createEmptyTestResult(),
      numPendingTests: 1,
      skipped: true,
      testFilePath: test.path,
      testResults: [pending],
    };
    await this.#emit('test-file-start', [test]);
    await this.#emit('test-file-success', [test, result]);
  }

  async #emit(eventName, data) {
    for (const listener of this.#listeners.get(eventName) ?? []) await listener(data);
  }
}

module.exports = BailingTestRunner;
module.exports.budgetMs = budgetMs;
