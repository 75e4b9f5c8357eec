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
 *   npm run test:mutation -- --scope backends --sample 0.25  a quarter of lib/backends' lines
 */
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

require('../../test/helpers/register-ts.js');

const root = path.resolve(__dirname, '../..');

/** Removes `--name value` from `args`, returning the value (undefined when absent). */
function takeOption(args, name) {
  const at = args.indexOf(name);
  if (at === -1) return undefined;
  if (at + 1 >= args.length) throw new Error(`${name} takes a value`);
  return args.splice(at, 2)[1];
}

/**
 * Stryker's arguments: `--scope scored|backends` becomes the `--mutate` globs of that scope, and
 * `--sample <fraction> [--seed <n>]` the `--mutate` list of that sample of the scope's lines (the
 * scored scope unless `--scope` says otherwise).
 */
function strykerArguments(argv) {
  const { SCORED_DIRECTORIES, REPORTED_DIRECTORIES, SCORED, REPORTED, isScored, isReported } = require('./scopes.cjs');
  const args = [...argv];
  const scope = takeOption(args, '--scope');
  const fraction = takeOption(args, '--sample');
  const seed = takeOption(args, '--seed');
  if (scope === undefined && fraction === undefined) {
    if (seed !== undefined) throw new Error('--seed goes with --sample');
    return args;
  }
  const scopes = {
    scored: { globs: SCORED, directories: SCORED_DIRECTORIES, keep: isScored },
    backends: { globs: REPORTED, directories: REPORTED_DIRECTORIES, keep: isReported },
  };
  const chosen = scopes[scope ?? 'scored'];
  if (chosen === undefined) throw new Error(`--scope takes scored or backends, got ${JSON.stringify(scope)}`);
  if (fraction === undefined) return ['--mutate', chosen.globs.join(','), ...args];
  const { sampleSpecs } = require('./sample.js');
  const specs = sampleSpecs(chosen.directories, Number(fraction), seed === undefined ? 1 : Number(seed), chosen.keep);
  console.log(`Mutating a sample: ${specs.length} lines (fraction ${fraction}, seed ${seed ?? 1})`);
  return ['--mutate', specs.join(','), ...args];
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

module.exports = { strykerArguments };

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
