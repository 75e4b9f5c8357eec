/**
 * Starting a test server as a child process on a free loopback port, waiting until it answers
 * HTTP, and stopping it by PID (never through npx, whose PID is not the server's).
 */
import { type ChildProcess, spawn } from 'child_process';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';

/** A running server process. */
export interface ProcessServer {
  /** `http://127.0.0.1:PORT` (`https://` for a server started with `https: true`). */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    // Any answer will do, over TLS too (whatever certificate the server shows).
    const get = url.startsWith('https:')
      ? (target: string, callback: (response: http.IncomingMessage) => void) =>
          https.get(target, { rejectUnauthorized: false }, callback)
      : http.get;
    const request = get(url, (response) => {
      response.resume();
      resolve(true);
    });
    request.on('error', () => resolve(false));
    request.setTimeout(1000, () => {
      request.destroy();
      resolve(false);
    });
  });
}

/**
 * Spawns `command args…` (which must listen on `port`) and resolves once it answers HTTP.
 * Rejects with the process output if it exits or stays silent for `timeoutMs`.
 */
export async function startProcessServer(
  name: string,
  command: string,
  args: string[],
  port: number,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; probePath?: string; https?: boolean } = {},
): Promise<ProcessServer> {
  const url = `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(command, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  const spawnError = new Promise<Error>((resolve) => child.on('error', resolve));

  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const failed = await Promise.race([
      spawnError,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 100)),
    ]);
    if (failed) throw new Error(`${name}: could not start \`${command}\`: ${failed.message}`);
    if (exited) throw new Error(`${name} exited before answering on ${url}:\n${output}`);
    if (await answers(url + (options.probePath ?? '/'))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not answer on ${url} within ${options.timeoutMs ?? 30_000} ms:\n${output}`);
    }
  }

  return {
    url,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
