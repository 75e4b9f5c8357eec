/** moto's S3 server (Python package `moto[server]`), the S3 stand-in of the test suite. */
import { execFileSync } from 'child_process';

import { type ProcessServer, freePort, startProcessServer } from './process-server';

const INSTALL_HINT = 'moto_server not found: install it with `pip install "moto[server]"` (see README "Testing")';

/** moto is not installed here (the S3 tests are then skipped, or fail where tools are required). */
export class MotoNotInstalledError extends Error {}

function findMoto(): { command: string; args: string[] } {
  for (const candidate of [
    { command: 'moto_server', args: [] },
    { command: 'python3', args: ['-m', 'moto.server'] },
  ]) {
    try {
      execFileSync(candidate.command, [...candidate.args, '--help'], { stdio: 'ignore', timeout: 30_000 });
      return candidate;
    } catch {
      // try the next way of running it
    }
  }
  throw new MotoNotInstalledError(INSTALL_HINT);
}

/** Starts moto on a free loopback port (`env`: e.g. INITIAL_NO_AUTH_ACTION_COUNT=0 for IAM checks). */
export async function startMoto(env: NodeJS.ProcessEnv = {}): Promise<ProcessServer> {
  const { command, args } = findMoto();
  const port = await freePort();
  return startProcessServer('moto_server', command, [...args, '-H', '127.0.0.1', '-p', String(port)], port, {
    probePath: '/moto-api/',
    env,
  });
}
