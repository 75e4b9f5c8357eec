/**
 * Every js/ts code block of the README is marked: `<!-- example: run -->` blocks are run as written,
 * each as an ES module (`.mjs`; TypeScript has its types stripped first) in a temporary directory
 * where `s3dlio` is this checkout, and must exit 0 leaving nothing behind; `<!-- example: needs
 * … -->` blocks (cloud services) must at least parse as ES modules. Every block, run or not, also
 * type-checks against the library's own types (a renamed function or option fails here).
 */
import { spawnSync } from 'child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

import { assertDistFresh } from '../cli/cli';
import { REPO_ROOT } from '../helpers/child';
import { type CodeBlock, codeBlocks, typeProblems, withoutTfjsAdvice } from '../helpers/markdown-examples';
import { useTempDir } from '../helpers/temp';

const examples = codeBlocks(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
const tmp = useTempDir('s3dlio-readme-examples-');

beforeAll(() => {
  assertDistFresh();
  // `s3dlio` is this checkout (its package.json exports dist/); tf.js comes from its node_modules.
  mkdirSync(path.join(tmp.path, 'node_modules', '@tensorflow'), { recursive: true });
  symlinkSync(REPO_ROOT, path.join(tmp.path, 'node_modules', 's3dlio'));
  symlinkSync(
    path.join(REPO_ROOT, 'node_modules', '@tensorflow', 'tfjs'),
    path.join(tmp.path, 'node_modules', '@tensorflow', 'tfjs'),
  );
});

/** The block as an ES module file in its own directory. */
function moduleFile(example: CodeBlock): string {
  const dir = path.join(tmp.path, `line-${example.line}`);
  mkdirSync(dir);
  const file = path.join(dir, 'example.mjs');
  const code = example.language.startsWith('t')
    ? ts.transpileModule(example.code, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText
    : example.code;
  writeFileSync(file, code);
  return file;
}

test('the README has examples, and every js/ts block is marked as run or as needing a service', () => {
  expect(examples.length).toBeGreaterThanOrEqual(3); // the longer guides' examples are in docs/ (test/docs/)
  expect(examples.filter((example) => !/^(run|needs .+)$/.test(example.marker)).map((example) => example.line)).toEqual(
    [],
  );
  expect(examples[0].marker).toBe('run'); // the first example runs as written
});

const runnable = examples.filter((example) => example.marker === 'run');
test.each(runnable.map((example) => [example.line, example] as const))(
  'the example at README line %i runs as written',
  (_line, example) => {
    const file = moduleFile(example);
    const result = spawnSync(process.execPath, [file], {
      cwd: path.dirname(file),
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, RANK: undefined, WORLD_SIZE: undefined },
    });
    const stderr = withoutTfjsAdvice(result.stderr);
    expect({ status: result.status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(readdirSync(path.dirname(file))).toEqual(['example.mjs']); // it cleaned up after itself
  },
);

const fragments = examples.filter((example) => example.marker.startsWith('needs '));
// (The cloud examples run against the test servers in docs/, test/docs/; the README may have none.)
if (fragments.length > 0)
  test.each(fragments.map((example) => [example.line, example.marker, example] as const))(
    'the example at README line %i (%s) is a valid ES module',
    (_line, _marker, example) => {
      const result = spawnSync(process.execPath, ['--check', moduleFile(example)], { encoding: 'utf8' });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    },
  );

test('every example type-checks against the library (names, options, results)', () => {
  const problems = typeProblems(
    path.join(tmp.path, 'typecheck'),
    examples.map((example) => ({ label: `README line ${example.line}`, code: example.code })),
  );
  expect(problems).toEqual([]);
});
