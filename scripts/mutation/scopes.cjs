/**
 * The mutated scopes of scopes.json as Stryker `--mutate` globs (a folder: every .ts file below
 * it), for stryker.config.mjs, run.js, sample.js and score.js alike. A scored entry inside a
 * reported folder (the cloud plumbing under lib/backends/cloud) belongs to the scored scope only.
 */
'use strict';
const { SCORED_DIRECTORIES, REPORTED_DIRECTORIES } = require('./scopes.json');

const globs = (entries) => entries.map((entry) => (entry.endsWith('.ts') ? entry : `${entry}/**/*.ts`));

const under = (file, entry) => file === entry || file.startsWith(`${entry}/`);

/** Whether a repository-relative file is in the scored scope. */
function isScored(file) {
  return SCORED_DIRECTORIES.some((entry) => under(file, entry));
}

/** Whether a repository-relative file is in the reported scope (and not scored). */
function isReported(file) {
  return !isScored(file) && REPORTED_DIRECTORIES.some((entry) => under(file, entry));
}

const scoredInsideReported = SCORED_DIRECTORIES.filter((entry) =>
  REPORTED_DIRECTORIES.some((reported) => under(entry, reported)),
);

module.exports = {
  SCORED_DIRECTORIES,
  REPORTED_DIRECTORIES,
  isScored,
  isReported,
  /** The pure-logic code held to a mutation score of at least 80%. */
  SCORED: globs(SCORED_DIRECTORIES),
  /** Reported without a bar: the backends are mostly SDK glue, tested against the servers. */
  REPORTED: [...globs(REPORTED_DIRECTORIES), ...globs(scoredInsideReported).map((glob) => `!${glob}`)],
};
