/**
 * The public types, as a user compiles against them: the fixtures in test/types/fixtures import
 * the built package (`s3dlio`, resolved through package.json to dist/index.d.ts, the ES module
 * entry for `.mts`) and are compiled with `strict` and `skipLibCheck: false`. Each misuse there is
 * marked `@ts-expect-error`, so tsc must report nothing: a misuse that starts to compile is an
 * unused directive, an error here. Also: the ES module entry exports what the CommonJS one does.
 */
import { spawnSync } from 'child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

import { assertDistFresh } from '../cli/cli';
import { REPO_ROOT } from '../helpers/child';

const FIXTURES = path.join(__dirname, 'fixtures');
/** A whole program with the package's declarations and their dependencies' (no skipLibCheck). */
const COMPILE_TIMEOUT_MS = 300_000;

/** A project outside the repository whose node_modules holds the package, as after `npm install`. */
function userProject(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3dlio-types-'));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(REPO_ROOT, path.join(dir, 'node_modules', 's3dlio'), 'dir');
  for (const name of readdirSync(FIXTURES)) copyFileSync(path.join(FIXTURES, name), path.join(dir, name));
  return dir;
}

/**
 * tsc's diagnostics for `files`, one line each, with the fixture's name and line. `previous`: a
 * program whose unchanged files (the package's declarations) are reused.
 */
function compile(dir: string, files: string[], options: ts.CompilerOptions, previous?: ts.Program): string[] {
  const program = ts.createProgram({
    rootNames: files.map((file) => path.join(dir, file)),
    oldProgram: previous,
    options: {
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts'],
      types: ['node'],
      typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')],
      ...options,
    },
  });
  programs.push(program);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file === undefined || diagnostic.start === undefined) return text;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${path.relative(dir, diagnostic.file.fileName)}:${line + 1}: ${text}`;
  });
}

let dir: string;
const programs: ts.Program[] = [];
beforeAll(() => {
  assertDistFresh();
  dir = userProject();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const COMMONJS_FIXTURES = ['stores.ts', 'errors.ts', 'api.ts', 'datasets.ts'];

test('the fixtures cover what they claim: each has misuses marked and correct uses', () => {
  for (const name of [...COMMONJS_FIXTURES, 'esm.mts']) {
    const source = ts.sys.readFile(path.join(FIXTURES, name)) ?? '';
    expect({ name, misuses: (source.match(/@ts-expect-error -- /g) ?? []).length > 0 }).toEqual({
      name,
      misuses: true,
    });
  }
  expect(readdirSync(FIXTURES).sort()).toEqual([...COMMONJS_FIXTURES, 'esm.mts'].sort());
});

test(
  'CommonJS (module commonjs, node10 resolution): every misuse is refused, every correct use compiles',
  () => {
    const errors = compile(dir, COMMONJS_FIXTURES, {
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
    });
    expect(errors).toEqual([]);
  },
  COMPILE_TIMEOUT_MS,
);

test(
  'Node16 resolution through package.json "exports", CommonJS and ES module fixtures alike',
  () => {
    const errors = compile(dir, [...COMMONJS_FIXTURES, 'esm.mts'], {
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
    });
    expect(errors).toEqual([]);
  },
  COMPILE_TIMEOUT_MS,
);

test(
  'a misuse that compiles fails the check (the check can fail)',
  () => {
    const probe = path.join(dir, 'probe.ts');
    ts.sys.writeFile(
      probe,
      "import { storeFor } from 's3dlio';\n// @ts-expect-error -- region IS an s3:// option\nstoreFor('s3://b/', { region: 'x' });\n",
    );
    const commonJs = { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 };
    const errors = compile(dir, [...COMMONJS_FIXTURES, 'probe.ts'], commonJs, programs[0]);
    expect(errors).toEqual([expect.stringContaining("probe.ts:2: Unused '@ts-expect-error' directive")]);
  },
  COMPILE_TIMEOUT_MS,
);

test('the ES module entry exports every name of the CommonJS entry, the very same values', () => {
  const script = `
    import * as esm from ${JSON.stringify(path.join(REPO_ROOT, 'dist', 'index.mjs'))};
    import { createRequire } from 'module';
    const cjs = createRequire(import.meta.url)(${JSON.stringify(path.join(REPO_ROOT, 'dist', 'index.js'))});
    const names = Object.keys(cjs).filter((name) => name !== '__esModule');
    const missing = names.filter((name) => esm[name] !== cjs[name]);
    console.log(JSON.stringify({ missing, stores: ['S3Store', 'AzureStore', 'GcsStore', 'FileStore', 'DirectStore', 'MemoryStore'].filter((name) => typeof esm[name] === 'function') }));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(child.stderr).toBe('');
  expect(JSON.parse(child.stdout)).toEqual({
    missing: [],
    stores: ['S3Store', 'AzureStore', 'GcsStore', 'FileStore', 'DirectStore', 'MemoryStore'],
  });
});
