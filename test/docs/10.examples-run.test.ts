/**
 * The guides in docs/ show runnable files: every js/ts block of a docs/ page is marked
 * `<!-- example: examples/NAME.mjs -->` and is that file, verbatim; every file of examples/ is shown
 * by some page. Each example runs as a user would run it (`node examples/NAME.mjs`, `s3dlio` being
 * this package), from an empty directory it must leave empty, with the cloud examples pointed at the
 * test servers through the variables a user sets for a real service (AWS_ENDPOINT_URL,
 * AZURE_STORAGE_CONNECTION_STRING, STORAGE_EMULATOR_HOST, …). Every example also type-checks
 * against the library's own types.
 */
import { spawn } from 'child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'fs';
import * as path from 'path';

import { requiredEnv } from '../cloud/targets';
import { assertDistFresh } from '../cli/cli';
import { REPO_ROOT } from '../helpers/child';
import { type CodeBlock, codeBlocks, typeProblems, withoutTfjsAdvice } from '../helpers/markdown-examples';
import { useTempDir } from '../helpers/temp';
import { toolsAvailable } from '../helpers/tools';

const DOCS = path.join(REPO_ROOT, 'docs');
const EXAMPLES = path.join(REPO_ROOT, 'examples');

/** Every Markdown page of docs/ (the generated API reference aside), relative to the repository. */
function pages(dir = DOCS): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return full === path.join(DOCS, 'api') ? [] : pages(full);
    return entry.name.endsWith('.md') ? [path.relative(REPO_ROOT, full)] : [];
  });
}

const blocks: Array<CodeBlock & { page: string }> = pages().flatMap((page) =>
  codeBlocks(readFileSync(path.join(REPO_ROOT, page), 'utf8')).map((block) => ({ ...block, page })),
);
const exampleFiles = readdirSync(EXAMPLES).filter((name) => name.endsWith('.mjs'));

test('every js/ts block of docs/ names its example file, and shows that file verbatim', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(exampleFiles.length);
  const problems = blocks.flatMap((block) => {
    const where = `${block.page} line ${block.line}`;
    const file = /^examples\/([\w.-]+\.mjs)$/.exec(block.marker)?.[1];
    if (!file) return [`${where}: no <!-- example: examples/NAME.mjs --> marker above the block`];
    if (!exampleFiles.includes(file)) return [`${where}: examples/${file} does not exist`];
    const content = readFileSync(path.join(EXAMPLES, file), 'utf8').replace(/\n$/, '');
    return content === block.code ? [] : [`${where}: differs from examples/${file}`];
  });
  expect(problems).toEqual([]);
});

test('every file of examples/ is shown by a page of docs/', () => {
  const shown = new Set(blocks.map((block) => block.marker.replace(/^examples\//, '')));
  expect(exampleFiles.filter((file) => !shown.has(file))).toEqual([]);
});

/** What a user sets to reach each service, here pointed at the test servers. */
function serviceEnvironment(): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL: requiredEnv('S3DLIO_TEST_S3_ENDPOINT'),
    AWS_ACCESS_KEY_ID: process.env.S3DLIO_TEST_S3_ACCESS_KEY ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.S3DLIO_TEST_S3_SECRET_KEY ?? 'test',
    AWS_REGION: process.env.S3DLIO_TEST_S3_REGION ?? 'us-east-1',
    AZURE_STORAGE_CONNECTION_STRING: requiredEnv('S3DLIO_TEST_AZURE_CONNECTION_STRING'),
    AZURE_STORAGE_ACCOUNT: 'devstoreaccount1',
    STORAGE_EMULATOR_HOST: requiredEnv('S3DLIO_TEST_GCS_ENDPOINT'),
    GOOGLE_CLOUD_PROJECT: process.env.S3DLIO_TEST_GCS_PROJECT ?? 'test',
  };
}

const tmp = useTempDir('s3dlio-docs-examples-');

/** An example that talks to S3 needs moto (skipped loudly where it is missing, as the S3 suites). */
const needsS3 = (file: string): boolean => /s3:\/\//.test(readFileSync(path.join(EXAMPLES, file), 'utf8'));

/**
 * Runs `node file` and collects its exit status and stderr. Asynchronously: the GCS test server
 * may live in this very process (jest in band), and a synchronous spawn would stop it answering.
 */
function run(file: string, cwd: string): Promise<{ status: number | null; stderr: string }> {
  // The endpoint list of a cluster, for the example that spreads requests over one.
  const own = file.endsWith('several-endpoints.mjs')
    ? { S3_ENDPOINT_URIS: requiredEnv('S3DLIO_TEST_S3_ENDPOINT') }
    : {};
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd,
      env: { ...process.env, ...serviceEnvironment(), ...own, RANK: undefined, WORLD_SIZE: undefined },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 60_000,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describe('running the examples (they import dist/)', () => {
  beforeAll(() => assertDistFresh());

  test.each(exampleFiles)('examples/%s runs as written and leaves nothing behind', async (file) => {
    if (needsS3(file) && !toolsAvailable(['moto'], `examples/${file}`)) return;
    const cwd = mkdtempSync(path.join(tmp.path, 'run-'));
    const result = await run(path.join(EXAMPLES, file), cwd);
    expect({ status: result.status, stderr: withoutTfjsAdvice(result.stderr) }).toEqual({ status: 0, stderr: '' });
    expect(readdirSync(cwd)).toEqual([]);
  });
});

test('every example type-checks against the library (names, options, results)', () => {
  const problems = typeProblems(
    path.join(tmp.path, 'typecheck'),
    exampleFiles.map((file) => ({
      label: `examples/${file}`,
      code: readFileSync(path.join(EXAMPLES, file), 'utf8'),
    })),
  );
  expect(problems).toEqual([]);
});
