/**
 * A throwaway copy of the whole machine for destructive end-to-end tests: a private mount
 * namespace in which `/` is an overlay of the host's root whose writes and deletes land in a tmpfs,
 * with a fresh tmpfs on /tmp, a new procfs, and a /dev of four bind-mounted device nodes (nothing
 * of the host's /dev, /dev/shm or /tmp is reachable), and the working directory (the repository,
 * wherever it is cloned) overlaid at its own path. A command runs chrooted there only after it
 * has seen the marker file that exists in the overlay alone; when it exits, everything is gone.
 */
import { spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdtempSync, rmdirSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

/** The result of a sandboxed command. */
export interface SandboxResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of `runInSandbox`. */
export interface SandboxOptions {
  /** Shell lines run before the chroot, with `$M` the sandbox's root (e.g. extra mounts there). */
  setup?: string;
  /** Working directory inside the sandbox. */
  cwd: string;
  /** Extra environment of the command. */
  env?: Record<string, string>;
}

/** Exit code of the marker check: the command found itself outside the sandbox and did nothing. */
export const NOT_IN_SANDBOX = 99;

/** Where the working directory (the repository) is inside the sandbox. */
export const SANDBOX_REPO = '/opt/s3dlio-sandbox/repo';

/** `target` as seen inside a sandbox whose working directory was `cwd` outside. */
export function inSandbox(target: string, cwd: string): string {
  if (cwd === '/') return target;
  return target === cwd || target.startsWith(`${cwd}/`) ? `${SANDBOX_REPO}${target.slice(cwd.length)}` : target;
}

const SETUP = `
set -eu
D="$S3DLIO_SANDBOX_DIR"
mount -t tmpfs -o size=512m,mode=700 s3dlio-sandbox "$D"
mkdir "$D/upper" "$D/work" "$D/root"
printf %s "$S3DLIO_SANDBOX_MARKER" > "$D/upper/.s3dlio-sandbox"
mount -t overlay s3dlio-sandbox -o "lowerdir=/,upperdir=$D/upper,workdir=$D/work" "$D/root"
M="$D/root"
mount -t proc proc "$M/proc"
mount -t tmpfs -o size=1m,mode=755 s3dlio-dev "$M/dev"
for node in null zero random urandom; do
  touch "$M/dev/$node"
  mount --bind "/dev/$node" "$M/dev/$node"
done
mount -t tmpfs -o size=64m s3dlio-tmp "$M/tmp"
# The working directory (the repository, wherever it is cloned: maybe below /tmp, which the cases
# delete, or on another filesystem) is overlaid at a fixed path of its own; its writes and deletes
# land in the sandbox's tmpfs too.
C="$S3DLIO_SANDBOX_CWD"
if [ "$C" != / ]; then
  mkdir -p "$D/cwd-upper" "$D/cwd-work" "$M${SANDBOX_REPO}"
  mount -t overlay s3dlio-sandbox-cwd -o "lowerdir=$C,upperdir=$D/cwd-upper,workdir=$D/cwd-work" "$M${SANDBOX_REPO}"
fi
`;

// Inside the chroot: proceed only where the overlay's marker is (never on the host's root).
const ENTER =
  'cd "$0" && [ "$(cat /.s3dlio-sandbox 2>/dev/null)" = "$S3DLIO_SANDBOX_MARKER" ] || exit ' +
  `${NOT_IN_SANDBOX}; exec "$@"`;

function unshareArgs(): string[] {
  // As root a private mount namespace is enough; otherwise map ourselves to root in a user one.
  return process.getuid?.() === 0 ? ['--mount', '--propagation', 'private'] : ['--user', '--map-root-user', '--mount'];
}

function script(options: SandboxOptions, command: readonly string[]): string[] {
  // Paths into the repository (the command, `-r` hooks, paths inside a `-e` script) move with it.
  const moved = [
    inSandbox(options.cwd, options.cwd),
    ...command.map((word) => word.split(options.cwd === '/' ? '\0' : options.cwd).join(SANDBOX_REPO)),
  ];
  const quoted = moved.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  return [
    ...unshareArgs(),
    'sh',
    '-c',
    `${SETUP}\n${options.setup ?? ''}\nexec chroot "$M" /bin/sh -c '${ENTER.replace(/'/g, `'\\''`)}' ${quoted}`,
  ];
}

function environment(options: SandboxOptions, dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...options.env,
    S3DLIO_SANDBOX_DIR: dir,
    S3DLIO_SANDBOX_CWD: options.cwd,
    S3DLIO_SANDBOX_MARKER: randomBytes(16).toString('hex'),
  };
}

/**
 * Whether a sandbox can be made here; `reason` says why not (no unshare, no permission to mount,
 * no overlayfs). Probed once with a harmless command.
 */
export function probeSandbox(): { ok: boolean; reason: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 's3dlio-sandbox-'));
  try {
    const options = { cwd: '/' };
    const result = spawnSync('unshare', script(options, ['cat', '/.s3dlio-sandbox']), {
      env: environment(options, dir),
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (result.error) return { ok: false, reason: `unshare: ${result.error.message}` };
    if (result.status !== 0) return { ok: false, reason: `exit ${result.status}: ${result.stderr.trim()}` };
    return { ok: true, reason: '' };
  } finally {
    rmdirSync(dir);
  }
}

/** Runs `command` in a fresh sandbox (see the module comment) and collects its output. */
export async function runInSandbox(command: readonly string[], options: SandboxOptions): Promise<SandboxResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 's3dlio-sandbox-'));
  try {
    return await new Promise<SandboxResult>((resolve, reject) => {
      const child = spawn('unshare', script(options, command), {
        env: environment(options, dir),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  } finally {
    // The tmpfs went with the namespace: only the empty mount point is left on the host.
    rmdirSync(dir);
  }
}
