/**
 * The jest test sequencer of mutation runs: during a mutant run, the covering files most focused
 * on the mutant first (the order test-file-filter.cjs chooses them in), so that the file most likely to kill the
 * mutant runs first and the environment's bail (test-file-map-environment.cjs) skips the tests of
 * the files after it. Jest's own order (files that failed last time, then the slowest) is kept for
 * the dry run.
 */
'use strict';
const Sequencer = require('@jest/test-sequencer').default;
const { focusRank } = require('./test-file-filter.cjs');

class FocusedFirstSequencer extends Sequencer {
  sort(tests) {
    const active = process.env.__STRYKER_ACTIVE_MUTANT__;
    if (active === undefined) return super.sort(tests);
    return [...tests].sort((a, b) => focusRank(active, a.path) - focusRank(active, b.path));
  }
}

module.exports = FocusedFirstSequencer;
