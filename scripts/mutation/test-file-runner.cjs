/**
 * The jest runner of mutation runs: jest's own runner, one test file at a time (Stryker runs jest
 * in band), except that during a mutant run a file that comes after the mutant was killed is not
 * loaded at all. It is reported as skipped, an empty result like a file whose tests the name filter
 * left out. Loading a file costs a fresh module registry, lib/ and three cloud SDKs. Before this
 * runner, each killed mutant loaded up to seven files only to skip their tests.
 *
 * With S3DLIO_MUTATION_TIMING=<file>, one JSON line per mutant run is appended there: the mutant,
 * its files run and skipped, and the milliseconds. It shows where a run's time goes.
 */
'use strict';
const { appendFileSync } = require('node:fs');
const path = require('node:path');
const TestRunner = require('jest-runner').default;
const { createEmptyTestResult } = require('@jest/test-result');
const { killed } = require('./test-file-filter.cjs');

class BailingTestRunner extends TestRunner {
  async runTests(tests, watcher, options) {
    const active = process.env.__STRYKER_ACTIVE_MUTANT__;
    if (active === undefined || !options.serial) return super.runTests(tests, watcher, options);
    const started = Date.now();
    const ran = [];
    const skipped = [];
    for (const test of tests) {
      if (killed.has(active)) {
        skipped.push(test.path);
        await this.#reportSkipped(test);
      } else {
        ran.push(test.path);
        await super.runTests([test], watcher, options);
      }
    }
    const log = process.env.S3DLIO_MUTATION_TIMING;
    if (log) {
      const root = tests[0]?.context.config.rootDir ?? process.cwd();
      const name = (file) => path.relative(root, file);
      const record = {
        mutant: active,
        ms: Date.now() - started,
        killed: killed.has(active),
        ran: ran.map(name),
        skipped: skipped.length,
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
  async #reportSkipped(test) {
    const title = 'not loaded: the mutant was killed by an earlier file';
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
