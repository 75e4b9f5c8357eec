#!/usr/bin/env node
/**
 * `npm run test:mutation -- --sample <fraction> [--seed <n>]` picks a random share of the code lines
 * of the scored scope (each line with probability <fraction>, seeded) and mutates only those:
 * a whole pass takes hours here, a sample gives the score with a known margin in a fraction of
 * that. Prints the `--mutate` list (file:line-line specs, comma-separated) for scripts/mutation/run.js.
 * Mutants spanning several lines (a removed block) are left out of a sample.
 */
'use strict';
const fs = require('fs');
const path = require('path');

require('../../test/helpers/register-ts.js');
const { seededRandom } = require('../../test/helpers/seeded-random.ts');

const root = path.resolve(__dirname, '../..');

function filesUnder(relative) {
  const full = path.join(root, relative);
  if (fs.statSync(full).isFile()) return [relative];
  return fs
    .readdirSync(full, { withFileTypes: true })
    .flatMap((entry) => filesUnder(path.join(relative, entry.name)))
    .filter((file) => file.endsWith('.ts'));
}

/**
 * The `--mutate` specs of a sample of the lines of `scopes` (folders or files under the repo),
 * among the files `keep` accepts.
 */
function sampleSpecs(scopes, fraction, seed, keep = () => true) {
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`--sample takes a fraction in (0, 1], got ${fraction}`);
  const random = seededRandom(seed);
  const specs = [];
  for (const file of scopes.flatMap(filesUnder).filter(keep).sort()) {
    const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
    lines.forEach((text, i) => {
      const code = text.trim();
      const comment = code.startsWith('//') || code.startsWith('*') || code.startsWith('/*');
      if (code === '' || comment) return;
      if (random() < fraction) specs.push(`${file}:${i + 1}-${i + 1}`);
    });
  }
  return specs;
}

module.exports = { sampleSpecs };

if (require.main === module) {
  const [fraction, seed = '1'] = process.argv.slice(2);
  const { SCORED_DIRECTORIES } = require('./scopes.json');
  process.stdout.write(sampleSpecs(SCORED_DIRECTORIES, Number(fraction), Number(seed)).join(','));
}
