#!/usr/bin/env node
/**
 * `npm run test:mutation [-- <stryker options>]`: StrykerJS over lib/, with the test servers
 * (moto, Azurite, the GCS server) started once here instead of once per mutant run, then a score
 * per scope (scripts/mutation/score.js).
 *
 *   npm run test:mutation                         incremental: only mutants whose code or tests changed
 *   npm run test:mutation -- --force              every mutant again (hours on 2 cores: run it in pieces with --mutate)
 *   npm run test:mutation -- --mutate lib/uri.ts  one file
 *   npm run test:mutation -- --scope scored       the scored folders only (--scope backends: lib/backends)
 *   npm run test:mutation -- --sample 0.2 --seed 7  a random fifth of the scored lines (scripts/mutation/sample.js)
 */
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

require('../../test/helpers/register-ts.js');

const root = path.resolve(__dirname, '../..');

/**
 * Stryker's arguments: `--sample <fraction> [--seed <n>]` become the `--mutate` list of that
 * sample of the scored lines; `--scope scored` or `--scope backends` the globs of that scope.
 */
function strykerArguments(args) {
  const { SCORED_DIRECTORIES, SCORED, REPORTED } = require('./scopes.cjs');
  const scopeAt = args.indexOf('--scope');
  if (scopeAt !== -1) {
    const scope = args[scopeAt + 1];
    const mutate = { scored: SCORED, backends: REPORTED }[scope];
    if (mutate === undefined) throw new Error(`--scope takes scored or backends, got ${JSON.stringify(scope)}`);
    const rest = args.filter((_, i) => i !== scopeAt && i !== scopeAt + 1);
    return ['--mutate', mutate.join(','), ...rest];
  }
  const at = args.indexOf('--sample');
  if (at === -1) return args;
  const seedAt = args.indexOf('--seed');
  const seed = seedAt === -1 ? 1 : Number(args[seedAt + 1]);
  const { sampleSpecs } = require('./sample.js');
  const specs = sampleSpecs(SCORED_DIRECTORIES, Number(args[at + 1]), seed);
  console.log(`Mutating a sample: ${specs.length} lines (fraction ${args[at + 1]}, seed ${seed})`);
  const rest = args.filter((_, i) => ![at, at + 1, seedAt, seedAt + 1].includes(i));
  return ['--mutate', specs.join(','), ...rest];
}

async function main() {
  const setup = require(path.join(root, 'test/global-setup.ts')).default;
  const teardown = require(path.join(root, 'test/global-teardown.ts')).default;
  // One line per mutant run: its files and milliseconds (scripts/mutation/test-file-runner.cjs).
  process.env.S3DLIO_MUTATION_TIMING ??= path.join(root, 'reports/mutation/timing.jsonl');
  fs.mkdirSync(path.dirname(process.env.S3DLIO_MUTATION_TIMING), { recursive: true });
  fs.writeFileSync(process.env.S3DLIO_MUTATION_TIMING, '');
  await setup();
  const strykerArgs = strykerArguments(process.argv.slice(2));
  let status;
  try {
    const stryker = path.join(root, 'node_modules/.bin/stryker');
    // Asynchronously: the GCS server runs in this process and must keep answering.
    status = await new Promise((resolve, reject) => {
      const run = spawn(stryker, ['run', ...strykerArgs], { cwd: root, stdio: 'inherit' });
      run.on('error', reject);
      run.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await teardown();
  }
  if (status !== 0) return status;
  // A narrowed run: the score of what it tested, apart from the results carried over.
  const mutateAt = strykerArgs.indexOf('--mutate');
  const scoreArgs = mutateAt === -1 ? [] : ['--mutate', strykerArgs[mutateAt + 1]];
  const score = spawnSync(process.execPath, [path.join(__dirname, 'score.js'), ...scoreArgs], {
    cwd: root,
    stdio: 'inherit',
  });
  return score.status ?? 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
