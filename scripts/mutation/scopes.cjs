/**
 * The mutated scopes of scopes.json as Stryker `--mutate` globs (a folder: every .ts file below
 * it), for stryker.config.mjs and run.js alike.
 */
'use strict';
const { SCORED_DIRECTORIES, REPORTED_DIRECTORIES } = require('./scopes.json');

const globs = (entries) => entries.map((entry) => (entry.endsWith('.ts') ? entry : `${entry}/**/*.ts`));

module.exports = {
  SCORED_DIRECTORIES,
  REPORTED_DIRECTORIES,
  /** The pure-logic code held to a mutation score of at least 80%. */
  SCORED: globs(SCORED_DIRECTORIES),
  /** Reported without a bar: the backends are mostly SDK glue, tested against the servers. */
  REPORTED: globs(REPORTED_DIRECTORIES),
};
