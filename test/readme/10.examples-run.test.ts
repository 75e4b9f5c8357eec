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
import { useTempDir } from '../helpers/temp';

interface Example {
  line: number;
  language: string;
  marker: string;
  code: string;
}

/** The README's js/ts blocks, with the marker line above each (empty when there is none). */
function readmeExamples(readme: string): Example[] {
  const lines = readme.split('\n');
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(js|javascript|mjs|ts|typescript)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.indexOf('```', i + 1);
    let above = i - 1;
    while (above >= 0 && lines[above].trim() === '') above--;
    const marker = /^<!-- example: (.+) -->$/.exec(lines[above] ?? '')?.[1] ?? '';
    examples.push({ line: i + 1, language: fence[1], marker, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return examples;
}

const examples = readmeExamples(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
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
function moduleFile(example: Example): string {
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
  expect(examples.length).toBeGreaterThanOrEqual(10);
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
    // tf.js prints its advice to install tfjs-node (a native download: not an option here).
    const stderr = result.stderr.replace(
      /\n?=+\nHi, looks like you are running TensorFlow\.js in Node\.js\.[^\n]*\n=+\n/,
      '',
    );
    expect({ status: result.status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(readdirSync(path.dirname(file))).toEqual(['example.mjs']); // it cleaned up after itself
  },
);

const fragments = examples.filter((example) => example.marker.startsWith('needs '));
test.each(fragments.map((example) => [example.line, example.marker, example] as const))(
  'the example at README line %i (%s) is a valid ES module',
  (_line, _marker, example) => {
    const result = spawnSync(process.execPath, ['--check', moduleFile(example)], { encoding: 'utf8' });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  },
);

test('every example type-checks against the library (names, options, results)', () => {
  const dir = path.join(tmp.path, 'typecheck');
  mkdirSync(dir);
  const files = examples.map((example) => {
    const file = path.join(dir, `line-${example.line}.ts`);
    // `export {}`: each block is a module of its own (top-level await, its own names).
    writeFileSync(file, `${example.code}\nexport {};\n`);
    return file;
  });
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    // The JavaScript examples leave callback parameters untyped; everything else is checked.
    strict: true,
    noImplicitAny: false,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')],
    baseUrl: REPO_ROOT,
    paths: {
      s3dlio: [path.join(REPO_ROOT, 'lib', 'index.ts')],
      '@tensorflow/tfjs': [path.join(REPO_ROOT, 'node_modules', '@tensorflow', 'tfjs')],
    },
    noEmit: true,
  });
  const problems = ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file && files.includes(diagnostic.file.fileName))
    .map((diagnostic) => {
      const { line } = (diagnostic.file as ts.SourceFile).getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const block = path.basename((diagnostic.file as ts.SourceFile).fileName, '.ts');
      return `README ${block}, its line ${line + 1}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
    });
  expect(problems).toEqual([]);
});
