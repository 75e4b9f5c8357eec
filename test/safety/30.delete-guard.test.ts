/**
 * Deletes never reach beyond what the user named. The guard's decision is tested directly (a
 * table over an injected environment), symlink resolution through guardDelete (which deletes
 * nothing), allowed deletes in a test directory, and every destructive case end to end, through
 * the real library and the real CLI, only inside a sandbox (test/helpers/sandbox.ts) that cannot
 * reach the host: an overlay of `/` in a private mount namespace.
 */
import { spawnSync } from 'child_process';
import { chmodSync, chownSync, mkdirSync, realpathSync, rmdirSync, symlinkSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

import { S3dlioError, deletePrefix, list } from '../../lib';
import {
  type DeleteReach,
  type GuardEnvironment,
  currentEnvironment,
  guardDelete,
  parseMountInfo,
  readMountPoints,
  protectedPathReached,
} from '../../lib/backends/local/delete-guard';
import { BIN, assertDistFresh, runCli } from '../cli/cli';
import { REPO_ROOT } from '../helpers/child';
import { rejectionOf, treeOf } from '../helpers/local';
import { NOT_IN_SANDBOX, inSandbox, probeSandbox, runInSandbox } from '../helpers/sandbox';
import { useTempDir } from '../helpers/temp';
import { type CaseResult, WATCHED } from './sandbox-deletes';

const ENV: GuardEnvironment = {
  cwd: '/data/project/run',
  home: '/home/alice',
  mountPoints: ['/', '/proc', '/dev', '/dev/shm', '/mnt/nas', '/data/project/run/scratch', '/srv/my vol'],
};

const tree = (target: string): DeleteReach => ({ kind: 'tree', path: target });
const entries = (directory: string, namePrefix = ''): DeleteReach => ({ kind: 'entries', directory, namePrefix });

describe('the decision: which deletes reach a protected path (pure, over an injected environment)', () => {
  // [what is deleted, the reach, the protected path it reaches (undefined: allowed)]
  const cases: Array<[string, DeleteReach, string | undefined]> = [
    ['the root', tree('/'), '/'],
    ['the root, doubled slash', tree('//'), '/'],
    ['every entry of the root', entries('/'), 'everything in /'],
    ['root entries named t…', entries('/', 't'), '/t*'],
    ['root entries named by a prefix nothing matches', entries('/', 'zz-nothing'), '/zz-nothing*'],
    ['a top-level directory', tree('/tmp'), '/tmp'],
    ['a top-level directory with a trailing slash', tree('/tmp/'), '/tmp'],
    ['the contents of a top-level directory', entries('/tmp'), 'everything in /tmp'],
    ['a top-level directory not in any list', tree('/scratch-volume'), '/scratch-volume'],
    ['a directory in /tmp', tree('/tmp/run-123'), undefined],
    ['the contents of a directory in /tmp', entries('/tmp/run-123'), undefined],
    ['entries of /tmp by name prefix', entries('/tmp', 'run-'), undefined],
    ['a system tree', tree('/usr'), '/usr'],
    ['deep inside a system tree', tree('/usr/local/share/x'), '/usr/local/share/x'],
    ['entries inside a system tree', entries('/etc/ssl', 'c'), '/etc/ssl'],
    ['inside /dev (and /dev/shm)', tree('/dev/shm/job'), '/dev/shm/job'],
    ['a sibling whose name starts like a system tree', tree('/usrdata/x'), undefined],
    ['an application below /usr/src (container images)', tree('/usr/src/app/cache'), undefined],
    ['entries of /usr/src by name prefix', entries('/usr/src', 'app-'), undefined],
    ['/usr/src itself', tree('/usr/src'), '/usr/src'],
    ['everything in /usr/src', entries('/usr/src'), 'everything in /usr/src'],
    ['/usr/src reached from /usr by name prefix', entries('/usr', 's'), '/usr'],
    ['macOS /private/etc by name prefix', entries('/private', 'e'), '/private/etc'],
    ['a shared directory below the top level', tree('/var/tmp'), '/var/tmp'],
    ['…reached by a name prefix', entries('/var', 't'), '/var/tmp'],
    ['below a shared directory', tree('/var/tmp/job'), undefined],
    ['the home directory', tree('/home/alice'), '/home/alice'],
    ['the contents of the home directory', entries('/home/alice'), 'everything in /home/alice'],
    ['the home directory by name prefix', entries('/home', 'al'), '/home/alice'],
    ['below the home directory', tree('/home/alice/proj'), undefined],
    ['dot entries of the home directory', entries('/home/alice', '.cache'), undefined],
    ['another directory in /home', entries('/home', 'b'), undefined],
    ['the current working directory', tree('/data/project/run'), '/data/project/run'],
    ['an ancestor of the cwd', tree('/data/project'), '/data/project'],
    ['the contents of an ancestor of the cwd', entries('/data/project'), 'everything in /data/project'],
    ['the cwd by name prefix', entries('/data', 'p'), '/data/project'],
    ['…by its whole name as a prefix', entries('/data/project', 'run'), '/data/project/run'],
    ['a longer name prefix that does not match the cwd', entries('/data/project', 'runs'), undefined],
    ['a sibling of an ancestor of the cwd', entries('/data', 'project2'), undefined],
    ['below the cwd', tree('/data/project/run/out'), undefined],
    ['entries of the cwd not holding a mount point', entries('/data/project/run', 'o'), undefined],
    ['a mount point below the cwd by name prefix', entries('/data/project/run', 's'), '/data/project/run/scratch'],
    ['a mount point', tree('/mnt/nas'), '/mnt/nas'],
    ['the contents of a mount point', entries('/mnt/nas'), 'everything in /mnt/nas'],
    ['a mount point with a space in its name', tree('/srv/my vol'), '/srv/my vol'],
    ['below a mount point', tree('/mnt/nas/x'), undefined],
    ['an ancestor of a mount point', tree('/srv'), '/srv'],
    ['a mount point reached by name prefix', entries('/srv', 'my'), '/srv/my vol'],
    ['a Unicode name below /tmp', tree('/tmp/données/ü'), undefined],
    ['a Unicode top-level directory', tree('/données'), '/données'],
  ];

  test.each(cases)('%s', (_label, reach, expected) => {
    expect(protectedPathReached(reach, ENV)?.path).toBe(expected);
  });

  // The system directories docs/semantics.md ("Deleting") names, each protected with everything below it.
  test.each([
    '/bin',
    '/boot',
    '/dev',
    '/etc',
    '/lib',
    '/lib32',
    '/lib64',
    '/libx32',
    '/proc',
    '/sbin',
    '/sys',
    '/usr',
    '/System',
    '/Library',
    '/Applications',
    '/private/etc',
  ])('deep inside the system directory %s: refused, naming it', (system) => {
    expect(protectedPathReached(tree(`${system}/some/deep/dir`), ENV)).toMatchObject({
      path: `${system}/some/deep/dir`,
      what: `inside the system directory ${system}`,
    });
  });

  test('each refusal says what the path is', () => {
    expect(protectedPathReached(tree('/'), ENV)?.what).toBe('the filesystem root');
    expect(protectedPathReached(tree('/tmp'), ENV)?.what).toBe('a top-level directory');
    expect(protectedPathReached(tree('/usr/lib'), ENV)?.what).toBe('inside the system directory /usr');
    expect(protectedPathReached(tree('/home/alice'), ENV)?.what).toBe('the home directory');
    expect(protectedPathReached(tree('/data/project'), ENV)?.what).toBe(
      'which holds the current working directory /data/project/run',
    );
    expect(protectedPathReached(tree('/mnt/nas'), ENV)?.what).toBe('a mount point');
    expect(protectedPathReached(tree('/var/tmp'), ENV)?.what).toBe('a shared directory');
  });

  test('trailing slashes in the environment are ignored: the refusal names the path without them', () => {
    const slashed = { cwd: '/data/run//', home: '/home/bob///', mountPoints: ['/mnt/disk/'] };
    expect(protectedPathReached(tree('/home/bob'), slashed)).toMatchObject({
      path: '/home/bob',
      what: 'the home directory',
    });
    expect(protectedPathReached(tree('/data/run/'), slashed)).toMatchObject({ path: '/data/run' });
    expect(protectedPathReached(entries('/mnt', 'di'), slashed)?.path).toBe('/mnt/disk');
    expect(protectedPathReached(tree('/home/bob/x'), slashed)).toBeUndefined();
  });

  test('paths compare byte for byte where the filesystem does; case and NFC/NFD do not matter on macOS', () => {
    expect(protectedPathReached(tree('/USR/lib'), ENV)).toBeUndefined(); // /USR is not /usr on Linux
    const mac = { ...ENV, caseInsensitive: true, home: '/Users/Zoë' };
    expect(protectedPathReached(tree('/USR/lib'), mac)?.path).toBe('/USR/lib');
    expect(protectedPathReached(tree('/users/zoe\u0308'), mac)?.path).toBe('/users/zoe\u0308');
    expect(protectedPathReached(entries('/Users', 'zo'), mac)?.path).toBe('/Users/zo\u00eb');
  });

  test('without a working directory (deleted) or a home, only the other rules apply', () => {
    const bare = { mountPoints: [] };
    expect(protectedPathReached(tree('/data/project'), bare)).toBeUndefined();
    expect(protectedPathReached(tree('/data'), bare)?.path).toBe('/data');
  });
});

describe('mount points from /proc/self/mountinfo', () => {
  test('field 5 of each line, octal escapes (space, tab, newline, backslash) decoded', () => {
    const text = [
      '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
      '27 26 0:24 / /mnt/my\\040disk ro - tmpfs none ro',
      '28 26 0:25 /sub /srv/tab\\011and\\012newline\\134x rw - ext4 /dev/vdb rw',
      // Not a mount line: a field 5 that is no absolute path, and a short line.
      '29 26 0:26 / relative rw - tmpfs none rw',
      '30 26',
      '',
    ].join('\n');
    expect(parseMountInfo(text)).toEqual(['/', '/mnt/my disk', '/srv/tab\tand\nnewline\\x']);
  });

  test('without procfs (macOS, a chroot) there is no list: none, and the st_dev check stands alone; any other failure is reported', async () => {
    expect(await readMountPoints(path.join(os.tmpdir(), `s3dlio-no-proc-${process.pid}`, 'mountinfo'))).toEqual([]);
    await expect(readMountPoints(os.tmpdir())).rejects.toMatchObject({ code: 'EISDIR' });
    if (process.platform === 'linux') expect(await readMountPoints()).toContain('/');
  });

  test("this process's environment: its cwd, home and the mount points the kernel lists", async () => {
    const environment = await currentEnvironment();
    expect(environment.cwd).toBe(process.cwd());
    expect(environment.mountPoints).toContain('/');
    expect(protectedPathReached(tree(path.dirname(process.cwd())), environment)).toBeDefined();
  });
});

describe('guardDelete judges the resolved path (it deletes nothing)', () => {
  const tmp = useTempDir('s3dlio-guard-');
  const guard = (reach: DeleteReach, environment = ENV) =>
    guardDelete(reach, { operation: 'deletePrefix', uri: 'file:///x', allowProtectedPaths: false, environment });

  test('a path that does not exist, or runs through a file, reaches nothing: allowed, whatever is missing', async () => {
    writeFileSync(path.join(tmp.path, 'a-file'), 'x');
    await expect(guard(tree(path.join(tmp.path, 'missing', 'deeper')))).resolves.toBeUndefined();
    await expect(guard(tree(path.join(tmp.path, 'a-file', 'below')))).resolves.toBeUndefined();
    await expect(guard(entries(path.join(tmp.path, 'a-file', 'below')))).resolves.toBeUndefined();
  });

  test('a working directory that was deleted protects nothing, and the guard still judges the rest', async () => {
    const gone = path.join(tmp.path, 'cwd-gone');
    mkdirSync(gone);
    const before = process.cwd();
    process.chdir(gone);
    try {
      rmdirSync(gone);
      const environment = await currentEnvironment();
      expect(environment.cwd).toBeUndefined();
      expect(environment.home).toBe(realpathSync(os.homedir()));
      expect(protectedPathReached(tree('/'), environment)).toBeDefined();
    } finally {
      process.chdir(before);
    }
  });

  test('a symlink to / is judged as /, named in the message', async () => {
    symlinkSync('/', path.join(tmp.path, 'link-to-root'));
    const error = await rejectionOf(guard(entries(path.join(tmp.path, 'link-to-root'))));
    expect(error).toBeInstanceOf(S3dlioError);
    expect(error).toMatchObject({ code: 'ERR_PROTECTED_PATH', operation: 'deletePrefix', uri: 'file:///x' });
    expect(error.message).toContain(`${tmp.path}/link-to-root resolves to /`);
    expect(error.message).toContain('allowProtectedPaths');
    await expect(guard(tree(path.join(tmp.path, 'link-to-root/')))).rejects.toMatchObject({
      code: 'ERR_PROTECTED_PATH',
    });
  });

  test('a symlink chain to a protected directory, and a path continuing below a link', async () => {
    const home = path.join(tmp.path, 'home-alice');
    mkdirSync(home);
    symlinkSync(home, path.join(tmp.path, 'h1'));
    symlinkSync(path.join(tmp.path, 'h1'), path.join(tmp.path, 'h2'));
    const environment = { ...ENV, home };
    await expect(guard(tree(path.join(tmp.path, 'h2')), environment)).rejects.toMatchObject({
      code: 'ERR_PROTECTED_PATH',
    });
    // Below the home directory through the link, even where nothing exists yet: allowed.
    await expect(guard(tree(path.join(tmp.path, 'h2', 'not-yet', 'x')), environment)).resolves.toBeUndefined();
    await expect(guard(entries(path.join(tmp.path, 'h2'), 'p'), environment)).resolves.toBeUndefined();
  });

  test('with the override the delete proceeds, and a warning names what it reaches', async () => {
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await guardDelete(tree('/tmp'), {
        operation: 'deleteBucket',
        uri: 'file:///tmp',
        allowProtectedPaths: true,
        environment: ENV,
      });
      expect(emitWarning).toHaveBeenCalledTimes(1);
      expect(emitWarning.mock.calls[0][0]).toBe(
        'deleteBucket file:///tmp deletes /tmp, a top-level directory (allowProtectedPaths is set)',
      );
      expect(emitWarning.mock.calls[0][1]).toMatchObject({ code: 'S3DLIO_PROTECTED_PATH_DELETE' });
      // Nothing protected reached: no warning.
      await guardDelete(tree('/tmp/run-1'), { operation: 'x', uri: 'x', allowProtectedPaths: true, environment: ENV });
      expect(emitWarning).toHaveBeenCalledTimes(1);
    } finally {
      emitWarning.mockRestore();
    }
  });
});

describe('deletes the guard allows, in a test directory', () => {
  const tmp = useTempDir('s3dlio-guard-');

  test('a name prefix reaches the entries of its directory starting with it, nothing else', async () => {
    const dir = path.join(tmp.path, 'prefix');
    for (const name of ['t.bin', 'top/a', 'top/b/c', 'tx', 'other/t', 'atop']) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), name);
    }
    const deleted: string[] = [];
    const count = await deletePrefix(`file://${dir}/t`, { onDeleted: (uri) => deleted.push(uri) });
    expect(count).toBe(4);
    expect(deleted.sort()).toEqual(['t.bin', 'top/a', 'top/b/c', 'tx'].map((name) => `file://${dir}/${name}`));
    expect(treeOf(dir)).toEqual(['atop', 'other/', 'other/t']);
  });

  test('pattern narrows the delete to the paths (relative to the prefix) it matches', async () => {
    const dir = path.join(tmp.path, 'pattern');
    for (const name of ['a_1.bin', 'a_2.idx', 'sub/a_3.bin']) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), name);
    }
    expect(await deletePrefix(`direct://${dir}/`, { pattern: /\.bin$/ })).toBe(2);
    expect(await list(`file://${dir}/`, { recursive: true })).toEqual([`file://${dir}/a_2.idx`]);
  });

  test('invalid options are argument errors', async () => {
    await expect(deletePrefix(`file://${tmp.path}/x/`, { onDeleted: 'no' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
    await expect(deletePrefix(`file://${tmp.path}/x/`, { allowProtectedPaths: 1 as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
  });

  test('a failed delete does not stop the others: all failures at the end (BatchError), the rest deleted', async () => {
    // Deletes fail in directories the user cannot write. Root can write anywhere: the child is
    // then `nobody`; the paths it may not touch are all inside this test's directory.
    const asRoot = process.getuid?.() === 0;
    const dir = path.join(tmp.path, 'mixed');
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(tmp.path, 0o755);
    if (asRoot) chownSync(dir, 65534, 65534);
    const open = Array.from({ length: 2500 }, (_, index) => `open-${index}`);
    for (const name of open) writeFileSync(path.join(dir, name), '');
    const locked = ['locked-a', 'locked-b', 'locked-c', 'locked-d', 'locked-e'];
    for (const name of locked) {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, 'x'), '');
      if (!asRoot) chmodSync(path.join(dir, name), 0o555);
    }
    const identity = asRoot ? { uid: 65534, gid: 65534 } : {};
    const script = `require(${JSON.stringify(path.join(REPO_ROOT, 'lib'))}).deletePrefix(process.argv[1]).then(
      (count) => console.log(JSON.stringify({ count })),
      (e) => console.log(JSON.stringify({ code: e.code, succeeded: e.succeeded, failed: e.errors.map((x) => x.uri + ' ' + x.code) })),
    );`;
    const library = spawnSync(
      process.execPath,
      ['-r', path.join(REPO_ROOT, 'test/helpers/register-ts.js'), '-e', script, `file://${dir}/`],
      { cwd: REPO_ROOT, encoding: 'utf8', ...identity },
    );
    const lockedUris = locked.map((name) => `file://${dir}/${name}/x`);
    expect({ status: library.status, stderr: library.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(library.stdout)).toEqual({
      code: 'ERR_BATCH_FAILED',
      succeeded: 2500,
      failed: expect.arrayContaining(lockedUris.map((uri) => `${uri} ERR_ACCESS_DENIED`)),
    });
    expect(treeOf(dir)).toEqual(locked.flatMap((name) => [`${name}/`, `${name}/x`]));
    // The CLI reports the same: each failure with its URI, the deleted count, exit 1.
    for (const name of open) writeFileSync(path.join(dir, name), '');
    assertDistFresh();
    const cli = spawnSync(process.execPath, [BIN, 'rm', '-r', `file://${dir}/`], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      ...identity,
    });
    expect(cli.status).toBe(1);
    for (const uri of lockedUris) expect(cli.stderr).toContain(`${uri}`);
    expect(cli.stderr).toMatch(/rm: 2,?500 objects.*5 failed/);
    expect(treeOf(dir)).toEqual(locked.flatMap((name) => [`${name}/`, `${name}/x`]));
  }, 120_000);

  test.each([
    [['rm', '-r', '--dryrun', 'file:///'], 'deletePrefix file:///: refused'],
    [['rm', '-r', '--dryrun', 'file:///usr/'], 'deletePrefix file:///usr/: refused'],
    [['rm', '-r', '--dryrun', 'file:///etc/hostnam'], 'deletePrefix file:///etc/hostnam: refused'],
    [['delete-bucket', '--dryrun', 'file:///etc/'], 'deleteBucket file:///etc/: refused'],
    [['rb', '--dryrun', '-f', '/usr'], 'deleteBucket file:///usr: refused'],
  ])(
    'the CLI: a dry run refuses what the run would (%j): ERR_PROTECTED_PATH, nothing listed',
    async (args, message) => {
      assertDistFresh();
      const run = await runCli(args);
      expect(run.stderr).toContain(message);
      expect(run.stderr).toMatch(/--allow-protected-paths.*\[ERR_PROTECTED_PATH\]/);
      expect(run.stdout).not.toContain('(dryrun)');
      expect(run.code).toBe(1);
    },
  );

  test('the CLI: with --allow-protected-paths the dry run lists what the run would delete', async () => {
    assertDistFresh();
    const run = await runCli(['rm', '-r', '--dryrun', '--allow-protected-paths', 'file:///etc/hostnam']);
    expect(run.stdout).toContain('(dryrun) delete: file:///etc/hostname');
    expect(run.code).toBe(0);
  });

  test('the CLI: --allow-protected-paths needs -r on rm (usage error, nothing deleted)', async () => {
    assertDistFresh();
    const usage = await runCli(['rm', '--allow-protected-paths', `file://${tmp.path}/nothing`]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/needs -r/);
  });
});

const sandbox = probeSandbox();
if (!sandbox.ok) {
  // Loud: the destructive cases are skipped, with the reason, and everything else still runs.
  console.warn(`SKIPPED: end-to-end deletes need a sandbox (unshare + overlayfs): ${sandbox.reason}`);
}

(sandbox.ok ? describe : describe.skip)('end to end, inside a sandbox that cannot reach the host', () => {
  const results = new Map<string, CaseResult>();
  // The repository is at SANDBOX_REPO inside: the watched paths as the sandbox sees them.
  const EXPECTED = WATCHED.map((target) => inSandbox(target, REPO_ROOT));
  const without = (...gone: string[]) => EXPECTED.filter((target) => !gone.includes(target));
  const result = (name: string): CaseResult => {
    const found = results.get(name);
    if (!found) throw new Error(`the sandbox run has no case ${JSON.stringify(name)}`);
    return found;
  };

  beforeAll(async () => {
    assertDistFresh();
    const env: Record<string, string> = { HOME: '/home/alice' };
    const run = await runInSandbox(
      [
        process.execPath,
        '-r',
        path.join(REPO_ROOT, 'test/helpers/register-ts.js'),
        path.join(__dirname, 'sandbox-deletes.ts'),
      ],
      {
        cwd: REPO_ROOT,
        env,
        setup: [
          'mkdir -p "$M/srv/vol" "$M/srv/mixed" "$M/work"',
          'mount -t tmpfs -o size=1m vol "$M/srv/vol"',
          'touch "$M/srv/mixed/busy.txt"',
          'mount --bind "$M/srv/mixed/busy.txt" "$M/srv/mixed/busy.txt"',
        ].join('\n'),
      },
    );
    expect(run.code).not.toBe(NOT_IN_SANDBOX);
    for (const line of run.stdout.split('\n')) {
      if (line.startsWith('CASE ')) {
        const parsed = JSON.parse(line.slice(5)) as CaseResult;
        results.set(parsed.name, parsed);
      }
    }
    if (run.code !== 0) throw new Error(`sandbox run failed (exit ${run.code}):\n${run.stderr}\n${run.stdout}`);
  }, 300_000);

  describe('refused, everything survives', () => {
    test.each([
      ['cli rm -r file:///', 'everything in /, the filesystem root'],
      ['cli rm -r -p tmp file:///', 'everything in /, the filesystem root'],
      ['cli rm -r file:///t', '/t*, top-level entries of the filesystem root'],
      ['cli rm -r file:///work/link-to-root/', 'everything in / (/work/link-to-root resolves to /)'],
      ['cli rm -r a parent of the cwd', 'everything in /sandbox-data/x, which holds the current working directory'],
      ['cli delete-bucket -f the cwd', '/sandbox-data/x/sub, the current working directory'],
      ['cli delete-bucket -f file:///tmp', '/tmp'],
      ['cli delete-bucket -f file:///', 'the filesystem root'],
    ])('%s', (name, mentions) => {
      const outcome = result(name);
      expect(outcome.exit).toBe(1);
      expect(outcome.stderr).toContain('[ERR_PROTECTED_PATH]');
      expect(outcome.stderr).toContain(mentions);
      expect(outcome.stderr).toContain('--allow-protected-paths');
      expect(outcome.survivors).toEqual(EXPECTED);
    });

    test.each([
      ['deletePrefix file:///t', '/t*, top-level entries of the filesystem root'],
      ['deletePrefix direct:///t', '/t*'],
      ['deletePrefix file:////', 'everything in /'],
      ['deleteBucket file:///tmp force', '/tmp, a top-level directory'],
      ['deleteBucket file:///tmp', '/tmp'],
      ['deleteBucket file:///work/link-to-root/ force', 'resolves to /), the filesystem root'],
      ['deletePrefix file:///srv/vol/', 'everything in /srv/vol, a mount point'],
      ['deletePrefix file:///srv/v', '/srv/vol, a mount point'],
      ['deletePrefix file:///home/alice/', 'everything in /home/alice, the home directory'],
      ['deletePrefix file:///home/al', '/home/alice, the home directory'],
      ['deletePrefix cwd name prefix', `${inSandbox(REPO_ROOT, REPO_ROOT)}, the current working directory`],
    ])('%s', (name, mentions) => {
      const outcome = result(name);
      expect(outcome.error).toMatchObject({ code: 'ERR_PROTECTED_PATH', name: 'S3dlioError' });
      expect(outcome.error?.message).toContain(mentions);
      expect(outcome.survivors).toEqual(EXPECTED);
    });
  });

  describe('allowed: exactly what was named goes', () => {
    test('rm -r --allow-protected-paths file:///t: /top.txt and /tmp/** only', () => {
      const outcome = result('cli rm -r --allow-protected-paths file:///t');
      expect(outcome.exit).toBe(0);
      expect(outcome.survivors).toEqual(without('/top.txt', '/tmp/a/b.txt', '/tmp/c.txt'));
    });

    test('deletePrefix("file:///t", { allowProtectedPaths }): the same, with a warning', () => {
      const outcome = result('deletePrefix file:///t allowed');
      expect(outcome.value).toBe(3);
      expect(outcome.survivors).toEqual(without('/top.txt', '/tmp/a/b.txt', '/tmp/c.txt'));
      expect(outcome.warnings.join('\n')).toContain('S3DLIO_PROTECTED_PATH_DELETE');
    });

    test('delete-bucket -f --allow-protected-paths and deleteBucket with the override remove the directory', () => {
      const gone = ['/sandbox-data/x/y.bin', '/sandbox-data/x/sub/w.bin', '/sandbox-data/z.bin'];
      expect(result('cli delete-bucket -f --allow-protected-paths file:///sandbox-data')).toMatchObject({
        exit: 0,
        survivors: without(...gone),
      });
      expect(result('deleteBucket file:///sandbox-data force allowed')).toMatchObject({ survivors: without(...gone) });
    });

    test('below a mount point and below the home directory, no override is needed', () => {
      expect(result('deletePrefix file:///srv/vol/sub/')).toMatchObject({
        value: 1,
        survivors: without('/srv/vol/sub/g.txt'),
      });
      expect(result('deletePrefix file:///home/alice/proj/')).toMatchObject({
        value: 1,
        survivors: without('/home/alice/proj/p.txt'),
      });
    });

    test('explicit single-object deletes are not refused; delete("file:///") is an error, not a crash', () => {
      expect(result('deleteMany file:///tmp/c.txt')).toMatchObject({ value: 1, survivors: without('/tmp/c.txt') });
      const root = result('delete file:///');
      expect(root.error).toMatchObject({ name: 'S3dlioError', code: 'ERR_IS_DIRECTORY' });
      expect(root.survivors).toEqual(EXPECTED);
    });
  });

  test('a bind-mounted file makes its directory hold a mount point: refused too', () => {
    expect(result('cli rm -r file:///srv/mixed/').stderr).toContain(
      'everything in /srv/mixed, which holds a mount point /srv/mixed/busy.txt',
    );
    expect(result('deletePrefix file:///srv/mixed/').error).toMatchObject({ code: 'ERR_PROTECTED_PATH' });
  });
});
