/**
 * Runs a script in a separate, plain Node process that loads the library from lib/ (TypeScript
 * compiled on the fly by register-ts.js). Used where a test needs a whole process to itself:
 * once-per-process warnings and peak-RSS measurements.
 */
import { spawn } from 'child_process';
import * as path from 'path';

/** The repository root (test/helpers/../..). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** What the child script gets as `LIB`: the path to require for the package entry point. */
export const LIB_ENTRY = path.join(REPO_ROOT, 'lib');

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Extra settings of a child process. */
export interface ChildOptions {
  /** Variables added to (or, when undefined, removed from) the inherited environment. */
  env?: Record<string, string | undefined>;
  /** Kill the child (SIGKILL) if it is still running after this many ms: a hang detector. */
  killAfterMs?: number;
  /** The command to run instead of `node` itself, e.g. ['unshare', '-m', 'sh', '-c', '… "$@"', 'sh']. */
  wrapper?: string[];
}

/**
 * Runs `script` (CommonJS, top-level `await` not available: wrap in an async IIFE) with
 * `const LIB = '<repo>/lib'` and `const ARGS = <args as JSON>` defined before it.
 */
export function runNodeScript(
  script: string,
  args: unknown = null,
  nodeArgs: string[] = [],
  options: ChildOptions = {},
): Promise<ChildResult> {
  const prelude = `const LIB = ${JSON.stringify(LIB_ENTRY)}; const ARGS = ${JSON.stringify(args)};\n`;
  const command = [
    ...(options.wrapper ?? []),
    process.execPath,
    ...nodeArgs,
    '-r',
    path.join(__dirname, 'register-ts.js'),
    '-e',
    prelude + script,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    const timer =
      options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.on('close', () => clearTimeout(timer));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * Runs `script`, which must print exactly one JSON line prefixed with `RESULT ` on stdout, and
 * returns that value. Fails with the child's output when it exits non-zero or prints no result.
 */
export async function runNodeJson<T>(
  script: string,
  args: unknown = null,
  nodeArgs: string[] = [],
  options: ChildOptions = {},
): Promise<T> {
  const result = await runNodeScript(script, args, nodeArgs, options);
  const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (result.code !== 0 || !line) {
    throw new Error(
      `child process failed (exit ${result.code}, signal ${result.signal})\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`,
    );
  }
  return JSON.parse(line.slice('RESULT '.length)) as T;
}
