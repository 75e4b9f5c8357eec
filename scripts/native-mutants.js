#!/usr/bin/env node
'use strict';
/**
 * Mutation testing for the C++ addon: each mutant in scripts/native-mutants.json is one small,
 * deliberate bug (an exact `find` → `replace` edit of one file in native/). For each, this script
 * copies native/ and binding.gyp into a temporary directory (the working tree is never edited),
 * applies the edit, builds the addon there with node-gyp (offline, against the local Node headers,
 * as scripts/build-native.js does), and runs the jest tests listed for it with
 * S3DLIO_NATIVE_PATH pointing at that build. A mutant is killed when those tests fail.
 *
 * The same tests first run against an unmutated build of the same sources: they must pass, or a
 * "kill" would prove nothing. The unmutated build is made once; each mutant starts from a copy of
 * it, so only the mutated file is compiled again (the mutant binaries therefore report the
 * unmutated source hash in buildInfo(); S3DLIO_NATIVE_PATH skips that check anyway).
 *
 *   node scripts/native-mutants.js            every mutant
 *   node scripts/native-mutants.js ID [ID…]   only these
 *   node scripts/native-mutants.js --list     the mutants and the bug each one stands for
 *   --keep                                    keep the temporary directory (builds and logs)
 *
 * Exit status: 0 when every mutant was killed; 1 when one survived, did not compile, or the
 * unmutated build failed its tests; 2 when a mutant's `find` text no longer occurs exactly once.
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const MUTANTS_FILE = path.join(__dirname, 'native-mutants.json');
// A mutant whose tests run longer than this (a hang it caused) counts as killed.
const TEST_TIMEOUT_MS = 15 * 60 * 1000;

function fail(message, status = 1) {
  process.stderr.write(`native-mutants: ${message}\n`);
  process.exit(status);
}

function loadMutants() {
  const mutants = JSON.parse(fs.readFileSync(MUTANTS_FILE, 'utf8'));
  const seen = new Set();
  for (const [index, mutant] of mutants.entries()) {
    for (const key of ['id', 'file', 'find', 'replace', 'bug']) {
      if (typeof mutant[key] !== 'string') fail(`mutant ${index}: \`${key}\` must be a string`);
    }
    if (!Array.isArray(mutant.tests) || mutant.tests.length === 0) fail(`mutant ${mutant.id}: \`tests\` is empty`);
    if (mutant.testNamePattern !== undefined && typeof mutant.testNamePattern !== 'string') {
      fail(`mutant ${mutant.id}: \`testNamePattern\` must be a string`);
    }
    if (seen.has(mutant.id)) fail(`mutant id ${mutant.id} is used twice`);
    seen.add(mutant.id);
  }
  return mutants;
}

function occurrences(text, find) {
  let count = 0;
  for (let at = text.indexOf(find); at !== -1; at = text.indexOf(find, at + 1)) count++;
  return count;
}

/** Every mutant must still apply to the current sources: fails loudly (status 2) when not. */
function checkApplicable(mutants) {
  const problems = [];
  for (const mutant of mutants) {
    if (!/^native\/[\w.-]+\.(cc|h)$/.test(mutant.file)) {
      problems.push(`${mutant.id}: ${mutant.file} is not a file of native/`);
      continue;
    }
    const file = path.join(ROOT, mutant.file);
    const count = fs.existsSync(file) ? occurrences(fs.readFileSync(file, 'utf8'), mutant.find) : -1;
    if (count !== 1) {
      problems.push(
        `${mutant.id}: the text to replace occurs ${count === -1 ? 'nowhere (no such file)' : `${count} times`} in ${mutant.file} ` +
          '(it must occur exactly once: update scripts/native-mutants.json to the current code)',
      );
    }
    for (const test of mutant.tests) {
      if (!fs.existsSync(path.join(ROOT, test))) problems.push(`${mutant.id}: no test file ${test}`);
    }
  }
  if (problems.length > 0) fail(`mutants that no longer apply:\n  ${problems.join('\n  ')}`, 2);
}

/** npm sets npm_config_node_gyp for scripts; run directly, use node-gyp from node_modules or npm's own. */
function nodeGypScript(prefix) {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const bundled = path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (fs.existsSync(bundled)) return bundled;
    return fail('node-gyp not found: run this through `npm run test:native-mutants`');
  }
}

/** node-gyp with the running Node's headers when they are installed (no download). */
function nodeGyp(args, cwd, log) {
  const prefix = path.dirname(path.dirname(process.execPath));
  const haveLocalHeaders = fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'));
  const bin = process.env.npm_config_node_gyp || nodeGypScript(prefix);
  const full = [bin, ...args, '-j', '2'];
  if (haveLocalHeaders && !process.env.npm_config_nodedir) full.push(`--nodedir=${prefix}`);
  const result = spawnSync(process.execPath, full, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  fs.appendFileSync(log, `$ node-gyp ${args.join(' ')}\n${result.stdout}${result.stderr}\n`);
  return result.status === 0;
}

/** A directory node-gyp can build in: native/, binding.gyp and what binding.gyp runs. */
function prepareSources(dir) {
  fs.mkdirSync(path.join(dir, 'scripts'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'native'), path.join(dir, 'native'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  fs.copyFileSync(path.join(ROOT, 'scripts', 'native-hash.js'), path.join(dir, 'scripts', 'native-hash.js'));
  // binding.gyp finds node-addon-api's headers with require() from its own directory.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
}

function addonOf(dir) {
  return path.join(dir, 'build', 'Release', 's3dlio.node');
}

/** Runs jest on `tests` with the addon at `addon`; true when every test passed. */
function runTests(tests, testNamePattern, addon, log) {
  const args = [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', ...tests];
  if (testNamePattern) args.push('-t', testNamePattern);
  const env = { ...process.env, S3DLIO_NATIVE_PATH: addon };
  const result = spawnSync(process.execPath, args, {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    timeout: TEST_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const timedOut = result.error !== undefined && result.error.code === 'ETIMEDOUT';
  fs.appendFileSync(
    log,
    `$ S3DLIO_NATIVE_PATH=${addon} jest ${args.slice(1).join(' ')}\n${result.stdout}${result.stderr}\n` +
      (timedOut ? `(killed after ${TEST_TIMEOUT_MS} ms)\n` : ''),
  );
  return { passed: result.status === 0, timedOut };
}

function seconds(since) {
  return ((Date.now() - since) / 1000).toFixed(0);
}

function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => String(cell).padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function main() {
  const argv = process.argv.slice(2);
  const keep = argv.includes('--keep');
  const ids = argv.filter((arg) => !arg.startsWith('--'));
  const all = loadMutants();
  if (argv.includes('--list')) {
    process.stdout.write(table([['id', 'file', 'bug'], ...all.map((m) => [m.id, m.file, m.bug])]) + '\n');
    return 0;
  }
  const unknown = ids.filter((id) => !all.some((mutant) => mutant.id === id));
  if (unknown.length > 0) fail(`unknown mutant id(s): ${unknown.join(', ')} (see --list)`);
  const mutants = ids.length > 0 ? all.filter((mutant) => ids.includes(mutant.id)) : all;
  checkApplicable(mutants);

  const started = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 's3dlio-native-mutants-'));
  process.stdout.write(`native mutants: ${mutants.length}; builds and logs in ${work}\n`);

  // CLI tests run the compiled dist/: make sure it is current.
  if (mutants.some((mutant) => mutant.tests.some((test) => test.startsWith('test/cli/')))) {
    const build = spawnSync('npm', ['run', 'build:ts'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) fail(`npm run build:ts failed:\n${build.stdout}${build.stderr}`);
  }

  // The unmutated build, and the listed tests passing against it.
  const base = path.join(work, 'unmutated');
  const baseLog = path.join(work, 'unmutated.log');
  prepareSources(base);
  process.stdout.write('building the unmutated addon…\n');
  if (!nodeGyp(['rebuild'], base, baseLog)) fail(`the unmutated sources do not build: see ${baseLog}`);
  const commands = new Map();
  for (const mutant of mutants) {
    const key = JSON.stringify([mutant.tests, mutant.testNamePattern ?? null]);
    if (!commands.has(key)) commands.set(key, mutant);
  }
  const baselineFailures = [];
  for (const mutant of commands.values()) {
    const label = `${mutant.tests.join(' ')}${mutant.testNamePattern ? ` -t '${mutant.testNamePattern}'` : ''}`;
    process.stdout.write(`unmutated: ${label}… `);
    const since = Date.now();
    const { passed } = runTests(mutant.tests, mutant.testNamePattern, addonOf(base), baseLog);
    process.stdout.write(`${passed ? 'pass' : 'FAIL'} (${seconds(since)} s)\n`);
    if (!passed) baselineFailures.push(label);
  }
  if (baselineFailures.length > 0) {
    fail(
      `these tests fail without any mutation, so they cannot judge mutants (see ${baseLog}):\n  ` +
        baselineFailures.join('\n  '),
    );
  }

  const rows = [];
  for (const mutant of mutants) {
    const since = Date.now();
    const dir = path.join(work, mutant.id);
    const log = path.join(work, `${mutant.id}.log`);
    // A copy of the unmutated build (timestamps kept), so make recompiles the mutated file only.
    fs.cpSync(base, dir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    const file = path.join(dir, mutant.file);
    fs.writeFileSync(
      file,
      fs.readFileSync(file, 'utf8').replace(mutant.find, () => mutant.replace),
    );
    const future = new Date(Date.now() + 2000); // newer than every copied object file, whatever the clock granularity
    fs.utimesSync(file, future, future);
    let result;
    if (!nodeGyp(['build'], dir, log)) {
      result = 'NO BUILD';
    } else {
      const { passed, timedOut } = runTests(mutant.tests, mutant.testNamePattern, addonOf(dir), log);
      result = passed ? 'SURVIVED' : timedOut ? 'killed (timeout)' : 'killed';
    }
    rows.push([mutant.id, result, seconds(since), mutant.bug]);
    process.stdout.write(`${mutant.id}: ${result} (${seconds(since)} s)\n`);
    if (!keep && result.startsWith('killed')) fs.rmSync(dir, { recursive: true, force: true });
  }

  const killed = rows.filter((row) => row[1].startsWith('killed')).length;
  process.stdout.write(`\n${table([['mutant', 'result', 's', 'bug'], ...rows])}\n`);
  process.stdout.write(
    `\nscore: ${killed}/${rows.length} killed (${((100 * killed) / rows.length).toFixed(0)}%), ${seconds(started)} s in all\n`,
  );
  const allKilled = killed === rows.length;
  if (allKilled && !keep) fs.rmSync(work, { recursive: true, force: true });
  else process.stdout.write(`builds and logs kept in ${work}\n`);
  return allKilled ? 0 : 1;
}

process.exitCode = main();
