/**
 * Runs the real, built `s3dlio` binary (bin/s3dlio.js → dist/cli) as a subprocess: piped, or
 * under a pseudo-terminal made by util-linux `script`. `npm test` builds dist first (pretest);
 * a dist older than lib/ fails the test instead of testing stale code.
 */
import { type ChildProcess, spawn } from 'child_process';
import { readdirSync, statSync } from 'fs';
import * as path from 'path';

import { requiredEnv } from '../cloud/targets';
import { REPO_ROOT } from '../helpers/child';
import { toolsAvailable } from '../helpers/tools';

/** The package's bin entry. */
export const BIN = path.join(REPO_ROOT, 'bin', 's3dlio.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: Record<string, string>;
  /** Run under a pseudo-terminal (stdout and stderr are the same TTY: all output is in `stdout`). */
  tty?: boolean;
  /** Options for node itself (e.g. a heap limit). */
  nodeArgs?: string[];
  /** The working directory (default: the repository), against which relative paths resolve. */
  cwd?: string;
}

let checkedFresh = false;

/** Fails when some lib/*.ts is newer than its compiled dist/*.js (run `npm run build:ts`). */
export function assertDistFresh(): void {
  if (checkedFresh) return;
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts')) {
        const compiled = path
          .join(REPO_ROOT, 'dist', path.relative(path.join(REPO_ROOT, 'lib'), file))
          .replace(/\.ts$/, '.js');
        let builtAt = 0;
        try {
          builtAt = statSync(compiled).mtimeMs;
        } catch {
          // missing: stale
        }
        if (builtAt < statSync(file).mtimeMs) stale.push(path.relative(REPO_ROOT, file));
      }
    }
  };
  walk(path.join(REPO_ROOT, 'lib'));
  if (stale.length > 0) {
    throw new Error(`dist/ is older than ${stale.slice(0, 3).join(', ')}: run \`npm run build:ts\` (npm test does)`);
  }
  checkedFresh = true;
}

/** The environment of a CLI child: this one's, minus test-runner noise, plus `extra`. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Starts the CLI; the caller owns the process (e.g. to send it SIGINT). */
export function spawnCli(args: readonly string[], options: CliRunOptions = {}): ChildProcess {
  assertDistFresh();
  const env = childEnv(options.env);
  if (options.tty) {
    // `script -q -e -f -c CMD /dev/null`: CMD on a new pty, exit code passed through, output unbuffered.
    const command = [process.execPath, ...(options.nodeArgs ?? []), BIN, ...args].map(shellQuote).join(' ');
    return spawn('script', ['-qefc', `stty cols 120; exec ${command}`, '/dev/null'], {
      cwd: options.cwd ?? REPO_ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }
  return spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects a spawned CLI's output and exit. */
export function completion(child: ChildProcess): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs the CLI to completion. */
export function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
  return completion(spawnCli(args, options));
}

/** Runs the CLI and fails (with its output) unless it exits 0. */
export async function runCliOk(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
  const result = await runCli(args, options);
  if (result.code !== 0) {
    throw new Error(
      `s3dlio ${args.join(' ')} exited ${result.code} (${result.signal})\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`,
    );
  }
  return result;
}

/** The JSON lines of a --json run. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** What the CLI needs to reach a cloud test server: global args and environment. */
export interface CloudCli {
  scheme: 's3' | 'az' | 'gs';
  args: string[];
  env: Record<string, string>;
  bucketUri(bucket: string): string;
  schemeUri: string;
}

/** The three cloud test servers, as a CLI user would address them. */
export function cloudClis(): CloudCli[] {
  const s3: CloudCli[] = [
    {
      scheme: 's3',
      args: [
        '--endpoint-url',
        requiredEnv('S3DLIO_TEST_S3_ENDPOINT'),
        '--region',
        process.env.S3DLIO_TEST_S3_REGION ?? 'us-east-1',
      ],
      env: {
        AWS_ACCESS_KEY_ID: process.env.S3DLIO_TEST_S3_ACCESS_KEY ?? 'test',
        AWS_SECRET_ACCESS_KEY: process.env.S3DLIO_TEST_S3_SECRET_KEY ?? 'test',
      },
      bucketUri: (bucket) => `s3://${bucket}/`,
      schemeUri: 's3://',
    },
  ];
  // S3 runs where moto is installed (skipped loudly elsewhere, see test/helpers/tools.ts).
  return [
    ...(toolsAvailable(['moto'], 'the s3 (moto) cases of this suite') ? s3 : []),
    {
      scheme: 'az',
      args: [],
      env: { AZURE_STORAGE_CONNECTION_STRING: requiredEnv('S3DLIO_TEST_AZURE_CONNECTION_STRING') },
      bucketUri: (bucket) => `az://devstoreaccount1/${bucket}/`,
      schemeUri: 'az://devstoreaccount1/',
    },
    {
      scheme: 'gs',
      args: ['--endpoint-url', requiredEnv('S3DLIO_TEST_GCS_ENDPOINT')],
      env: { GOOGLE_CLOUD_PROJECT: process.env.S3DLIO_TEST_GCS_PROJECT ?? 'test' },
      bucketUri: (bucket) => `gs://${bucket}/`,
      schemeUri: 'gs://',
    },
  ];
}
