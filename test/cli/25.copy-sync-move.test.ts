/**
 * cp, sync and mv as `aws s3` users expect them: local paths (relative or absolute) and URIs of
 * any scheme on either side, a destination ending in `/` (or an existing directory) receives the
 * object under its own name, -r copies a tree's contents, sync copies only what changed, mv
 * deletes nothing unless every copy succeeded, --dryrun changes nothing, and --include/--exclude
 * choose the objects. Results are checked on disk (and in the cloud test servers).
 */
import { mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'fs';
import * as path from 'path';

import { cloudTargets } from '../cloud/targets';
import { REPO_ROOT } from '../helpers/child';
import { expectSameBytes, tempFilesIn, testBytes, treeOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { type CliResult, type CloudCli, cloudClis, completion, jsonLines, runCli, runCliOk, spawnCli } from './cli';

const tmp = useTempDir('s3dlio-cli-copy-');

/** The files of every source tree: nested, hidden, unicode and spaces in names. */
const FILES: Record<string, Uint8Array> = {
  'a.bin': testBytes(70_000, 1),
  'notes.txt': Buffer.from('hello'),
  '.hidden': Buffer.from('dot'),
  'sub dir/ünï cödé.bin': testBytes(1_000, 2),
  'sub dir/deep/x.txt': Buffer.from('x'),
};
const FILE_TREE = [
  '.hidden',
  'a.bin',
  'notes.txt',
  'sub dir/',
  'sub dir/deep/',
  'sub dir/deep/x.txt',
  'sub dir/ünï cödé.bin',
];

let counter = 0;
/** A new directory below the temp dir (not created). */
function place(name: string): string {
  return path.join(tmp.path, `${name}-${counter++}`);
}

/** A new source directory holding FILES. */
function sourceTree(name = 'src'): string {
  const dir = place(name);
  for (const [relative, bytes] of Object.entries(FILES)) {
    mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    writeFileSync(path.join(dir, relative), bytes);
  }
  return dir;
}

function expectSameTree(dir: string, files: Record<string, Uint8Array> = FILES): void {
  for (const [relative, bytes] of Object.entries(files)) expectSameBytes(readFileSync(path.join(dir, relative)), bytes);
}

/** A path relative to the CLI's working directory (the repository): how a user types one. */
const relative = (absolute: string): string => path.relative(REPO_ROOT, absolute);

function summaryOf(result: CliResult): Record<string, unknown> {
  const summary = jsonLines(result.stdout).find((line) => line.type === 'summary');
  if (!summary) throw new Error(`no summary line in:\n${result.stdout}`);
  return summary;
}

function expectUsage(result: CliResult, message: RegExp): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(message) });
}

describe('cp: local paths and URIs on either side', () => {
  test('a local file to a file:// prefix ending in / keeps its name; back to a relative directory path too', async () => {
    const src = sourceTree();
    const dst = place('dst');
    await runCliOk(['cp', relative(path.join(src, 'a.bin')), `file://${dst}/`]);
    expectSameBytes(readFileSync(path.join(dst, 'a.bin')), FILES['a.bin']);
    const back = place('back');
    await runCliOk(['cp', `file://${dst}/a.bin`, `${relative(back)}/`]);
    expectSameBytes(readFileSync(path.join(back, 'a.bin')), FILES['a.bin']);
  });

  test('an existing directory receives the object under its name; any other path is the file to write', async () => {
    const src = sourceTree();
    const existing = place('existing');
    mkdirSync(existing);
    await runCliOk(['cp', path.join(src, 'sub dir', 'ünï cödé.bin'), existing]);
    expectSameBytes(readFileSync(path.join(existing, 'ünï cödé.bin')), FILES['sub dir/ünï cödé.bin']);
    const named = path.join(place('named'), 'deeper', 'renamed.bin');
    await runCliOk(['cp', `file://${src}/a.bin`, named]);
    expectSameBytes(readFileSync(named), FILES['a.bin']);
  });

  test("cp -r copies a directory's contents below the destination, with or without trailing slashes, both ways", async () => {
    const src = sourceTree();
    const up = place('prefix');
    const result = await runCliOk(['--json', 'cp', '-r', relative(src), `file://${up}/`]);
    expect(summaryOf(result)).toMatchObject({ operation: 'cp', objects: 5, failed: 0 });
    expect(treeOf(up)).toEqual(FILE_TREE);
    expectSameTree(up);
    const down = place('down');
    await runCliOk(['cp', '-r', `file://${up}`, down]); // no trailing slashes: the same
    expect(treeOf(down)).toEqual(FILE_TREE);
    expectSameTree(down);
  });

  test('a directory, or a URI ending in /, without -r is a usage error with the -r hint; nothing is written', async () => {
    const src = sourceTree();
    const dst = place('dst');
    expectUsage(
      await runCli(['cp', relative(src), `file://${dst}/`]),
      new RegExp(`${relative(src).replace(/[.]/g, '\\.')} is a directory: add -r \\(--recursive\\) to copy it`),
    );
    expectUsage(await runCli(['cp', `file://${src}/`, dst]), /ends with \/\): add -r \(--recursive\)/);
    expectUsage(await runCli(['mv', src, dst]), /is a directory: add -r \(--recursive\) to move it/);
    expectUsage(await runCli(['cp', '-r', path.join(src, 'a.bin'), dst]), /is a file, not a directory: leave out -r/);
    expectUsage(await runCli(['sync', path.join(src, 'a.bin'), dst]), /is a file: sync takes directories/);
    expect(() => statSync(dst)).toThrow();
  });

  test('a missing source fails (exit 1) naming it; so does a missing directory with -r', async () => {
    const missing = path.join(place('nothing'), 'nope.bin');
    const one = await runCli(['cp', missing, place('dst')]);
    expect(one.code).toBe(1);
    expect(one.stderr).toContain(`${missing} (file://${missing}): no such file`);
    const uri = await runCli(['cp', `file://${missing}`, place('dst')]);
    expect(uri.code).toBe(1);
    expect(uri.stderr).toContain(`file://${missing}: no such file`);
    const tree = await runCli(['cp', '-r', path.dirname(missing), place('dst')]);
    expect(tree.code).toBe(1);
    expect(tree.stderr).toContain('no such directory');
  });

  test('cp -r into the source itself is refused before anything is copied', async () => {
    const src = sourceTree();
    expectUsage(
      await runCli(['cp', '-r', src, path.join(src, 'inner')]),
      /is inside .*: the copies would be copied again/,
    );
    expect(treeOf(src)).toEqual(FILE_TREE);
  });
});

describe('get -o: a file for one object, a directory for many', () => {
  test('-o FILE writes that file (parents made); with -r, -o names a directory; -o - is stdout', async () => {
    const src = sourceTree();
    const file = path.join(place('out'), 'a', 'copy.bin');
    await runCliOk(['get', `file://${src}/a.bin`, '-o', file]);
    expectSameBytes(readFileSync(file), FILES['a.bin']);
    const dir = place('many');
    await runCliOk(['get', '-r', `file://${src}/sub dir/`, '-o', dir]);
    expect(treeOf(dir)).toEqual(['deep/', 'deep/x.txt', 'ünï cödé.bin']);
    const stdout = await runCliOk(['get', `file://${src}/notes.txt`, '-o', '-']);
    expect(stdout.stdout).toBe('hello');
  });
});

describe('safety: nothing outside the destination, nothing the source does not hold', () => {
  test('a symlink in the source leading out of it is refused (exit 1); one staying inside is copied', async () => {
    const src = sourceTree();
    const secret = path.join(place('outside'), 'secret.txt');
    mkdirSync(path.dirname(secret));
    writeFileSync(secret, 'secret');
    symlinkSync(secret, path.join(src, 'leak.txt'));
    symlinkSync(path.join(src, 'notes.txt'), path.join(src, 'inside.txt'));
    const dst = place('dst');
    const result = await runCli(['cp', '-r', src, dst]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/leak\.txt: it is a symbolic link to .*secret\.txt, outside .*; not copied/);
    expect(treeOf(dst)).toEqual([...FILE_TREE, 'inside.txt'].sort());
    expect(readFileSync(path.join(dst, 'inside.txt'), 'utf8')).toBe('hello');
  });

  test('a symlinked directory inside the destination is never written through', async () => {
    const src = sourceTree();
    const dst = place('dst');
    const elsewhere = place('elsewhere');
    mkdirSync(dst);
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, path.join(dst, 'sub dir'));
    const result = await runCli(['cp', '-r', src, dst]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/symbolic link below the destination/);
    expect(treeOf(elsewhere)).toEqual([]);
    expect(tempFilesIn(dst)).toEqual([]);
  });
});

describe('sync: only what is new or changed', () => {
  test('the first sync copies everything, the second nothing; a changed file is copied again', async () => {
    const src = sourceTree();
    const dst = place('dst');
    expect(summaryOf(await runCliOk(['--json', 'sync', relative(src), dst]))).toMatchObject({ objects: 5 });
    expectSameTree(dst);
    const again = await runCliOk(['sync', src, dst]);
    expect(again.stderr).toMatch(/sync: 5 unchanged, not copied/);
    expect(again.stderr).toMatch(/sync: 0 objects/);
    writeFileSync(path.join(src, 'notes.txt'), 'hello, longer'); // another size
    const changed = await runCliOk(['-v', '--json', 'sync', src, `file://${dst}/`]);
    expect(jsonLines(changed.stdout).filter((line) => line.type === 'object')).toEqual([
      expect.objectContaining({ operation: 'sync', uri: `file://${src}/notes.txt` }),
    ]);
    expect(readFileSync(path.join(dst, 'notes.txt'), 'utf8')).toBe('hello, longer');
  });

  test('same size: a newer source is copied; a newer destination is kept (size + mtime), unless --checksum', async () => {
    const src = sourceTree();
    const dst = place('dst');
    await runCliOk(['sync', src, dst]);
    // Same size, newer source: copied.
    writeFileSync(path.join(src, 'notes.txt'), 'HELLO');
    const future = new Date(Date.now() + 3_600_000);
    utimesSync(path.join(src, 'notes.txt'), future, future);
    await runCliOk(['sync', src, dst]);
    expect(readFileSync(path.join(dst, 'notes.txt'), 'utf8')).toBe('HELLO');
    // Same size, the destination changed after the sync (so newer): kept by default and by --size-only...
    writeFileSync(path.join(dst, 'a.bin'), testBytes(70_000, 99));
    utimesSync(path.join(dst, 'a.bin'), new Date(Date.now() + 7_200_000), new Date(Date.now() + 7_200_000));
    await runCliOk(['sync', src, dst]);
    await runCliOk(['sync', '--size-only', src, dst]);
    expectSameBytes(readFileSync(path.join(dst, 'a.bin')), testBytes(70_000, 99));
    // ...and --checksum compares the bytes: copied, and only that one.
    const checked = await runCliOk(['-v', '--json', 'sync', '--checksum', src, dst]);
    expect(jsonLines(checked.stdout).filter((line) => line.type === 'object')).toEqual([
      expect.objectContaining({ uri: `file://${src}/a.bin` }),
    ]);
    expectSameTree(dst, { ...FILES, 'notes.txt': Buffer.from('HELLO') });
  });

  test('--delete removes destination objects without a source, except those the filters exclude', async () => {
    const src = sourceTree();
    const dst = place('dst');
    await runCliOk(['sync', src, dst]);
    writeFileSync(path.join(dst, 'stale.bin'), 'old');
    writeFileSync(path.join(dst, 'keep.log'), 'mine');
    await runCliOk(['sync', src, dst]); // without --delete: kept
    expect(treeOf(dst)).toContain('stale.bin');
    await runCliOk(['sync', '--delete', '--exclude', '*.log', src, dst]);
    expect(treeOf(dst)).toEqual([...FILE_TREE, 'keep.log'].sort());
  });

  test('--delete deletes nothing after a failed copy', async () => {
    const src = sourceTree();
    const dst = place('dst');
    await runCliOk(['sync', src, dst]);
    writeFileSync(path.join(dst, 'stale.bin'), 'old');
    symlinkSync('/etc/hostname', path.join(src, 'leak'));
    const result = await runCli(['sync', '--delete', src, dst]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--delete deleted nothing \(1 kept\)/);
    expect(treeOf(dst)).toContain('stale.bin');
  });

  test('--checksum with --size-only is a usage error', async () => {
    expectUsage(await runCli(['sync', '--checksum', '--size-only', '/tmp/a', '/tmp/b']), /give one/);
  });
});

describe('mv: the source is deleted only once the copy succeeded', () => {
  test('one object, then a tree; both end up only at the destination', async () => {
    const src = sourceTree();
    const dst = place('dst');
    await runCliOk(['mv', path.join(src, 'a.bin'), `${dst}/`]);
    expectSameBytes(readFileSync(path.join(dst, 'a.bin')), FILES['a.bin']);
    expect(treeOf(src)).not.toContain('a.bin');
    const moved = place('moved');
    await runCliOk(['mv', '-r', `file://${src}/`, `file://${moved}/`]);
    expectSameTree(moved, Object.fromEntries(Object.entries(FILES).filter(([name]) => name !== 'a.bin')));
    expect(treeOf(src).filter((entry) => !entry.endsWith('/'))).toEqual([]); // empty directories stay
  });

  test('a failed copy in a tree deletes no source at all (exit 1)', async () => {
    const src = sourceTree();
    symlinkSync('/etc/hostname', path.join(src, 'leak'));
    const result = await runCli(['mv', '-r', src, place('dst')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no source deleted \(5 copied\)/);
    expectSameTree(src);
  });

  test('onto itself (another spelling of the same file or directory) is refused, and the source stays', async () => {
    const src = sourceTree();
    expectUsage(await runCli(['mv', path.join(src, 'a.bin'), `file://${src}/`]), /the same object: nothing to move/);
    expectUsage(await runCli(['mv', '-r', src, `file://${src}/`]), /the same place: nothing to move/);
    expectSameTree(src);
  });
});

describe('Ctrl-C during mv -r: exit 130, no partial file, no source deleted', () => {
  test('SIGINT while objects stream to direct://', async () => {
    const src = place('big');
    await runCliOk(['put', `file://${src}/`, '-n', '40', '-s', '4MiB']);
    const dst = place('dst');
    const child = spawnCli(['-v', 'mv', '-r', '-j', '2', src, `direct://${dst}/`]);
    const done = completion(child);
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        if (/^mv .* B$/m.test(seen)) resolve();
      });
      child.on('close', () => reject(new Error(`exited before the first object:\n${seen}`)));
    });
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    expect(treeOf(src)).toHaveLength(40); // every source is still there
    const copied = treeOf(dst);
    expect(copied.length).toBeLessThan(40);
    for (const name of copied) expect([name, statSync(path.join(dst, name)).size]).toEqual([name, 4 * 1024 * 1024]);
    expect(tempFilesIn(dst)).toEqual([]);
  });
});

describe('--dryrun (--dry-run) prints what would be done and changes nothing', () => {
  test.each<[string, (src: string, dst: string) => string[], RegExp[]]>([
    ['cp', (src, dst) => ['cp', path.join(src, 'a.bin'), `${dst}/`], [/^\(dryrun\) copy: .*\/a\.bin to .*\/a\.bin$/m]],
    ['cp -r', (src, dst) => ['cp', '-r', src, dst], [/^\(dryrun\) copy: .*\/sub dir\/ünï cödé\.bin to /m]],
    ['mv -r', (src, dst) => ['mv', '--dry-run', '-r', src, dst], [/^\(dryrun\) move: /m]],
    ['sync', (src, dst) => ['sync', src, dst], [/^\(dryrun\) copy: .*notes\.txt/m]],
    ['rm', (src) => ['rm', `file://${src}/a.bin`], [/^\(dryrun\) delete: file:\/\/.*\/a\.bin$/m]],
    ['rm -r', (src) => ['rm', '-r', `file://${src}/`], [/^\(dryrun\) delete: .*x\.txt$/m]],
    ['upload', (src, dst) => ['upload', `${src}/**`, `file://${dst}/`], [/^\(dryrun\) upload: .*\.hidden to file:/m]],
    ['download', (src, dst) => ['download', `file://${src}/`, dst], [/^\(dryrun\) download: file:.* to /m]],
    ['get -o', (src, dst) => ['get', `file://${src}/a.bin`, '-o', `${dst}/one.bin`], [/one\.bin$/m]],
    [
      'put -c',
      (_src, dst) => ['put', `file://${dst}/`, '-n', '2', '-s', '1', '-c'],
      [/make_bucket/, /put: .*object_1_of_2/],
    ],
    ['create-bucket', (_src, dst) => ['create-bucket', `file://${dst}/`], [/^\(dryrun\) make_bucket: /m]],
    ['delete-bucket', (src) => ['delete-bucket', '--force', `file://${src}/`], [/^\(dryrun\) remove_bucket: /m]],
  ])('%s', async (_name, args, expected) => {
    const src = sourceTree();
    const dst = place('dst');
    const argv = args(src, dst);
    const result = await runCliOk(argv.includes('--dry-run') ? argv : [...argv, '--dryrun']);
    for (const line of expected) expect(result.stdout).toMatch(line);
    expect(treeOf(src)).toEqual(FILE_TREE);
    expect(() => statSync(dst)).toThrow(); // not even created
  });

  test('sync --delete --dryrun lists the deletes too; --json gives records', async () => {
    const src = sourceTree();
    const dst = place('dst');
    await runCliOk(['sync', src, dst]);
    writeFileSync(path.join(dst, 'stale.bin'), 'old');
    const result = await runCliOk(['--json', 'sync', '--delete', '--dryrun', src, dst]);
    expect(jsonLines(result.stdout)).toEqual([{ type: 'dryrun', operation: 'delete', uri: `file://${dst}/stale.bin` }]);
    expect(treeOf(dst)).toContain('stale.bin');
  });

  test('a dry run still fails on a missing source', async () => {
    const result = await runCli(['cp', '--dryrun', path.join(place('none'), 'x'), place('dst')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expectUsage(await runCli(['get', '--dryrun', 'file:///tmp/x']), /--dryrun applies to get -o/);
  });
});

describe('--include/--exclude on every command that picks objects', () => {
  const onlyBin = ['--exclude', '*', '--include', '*.bin'];
  const binTree = ['a.bin', 'sub dir/', 'sub dir/ünï cödé.bin'];

  test.each<[string, (src: string, dst: string) => string[]]>([
    ['cp -r', (src, dst) => ['cp', '-r', src, dst, ...onlyBin]],
    ['sync', (src, dst) => ['sync', src, dst, ...onlyBin]],
    ['upload', (src, dst) => ['upload', `${src}/**`, `file://${dst}/`, ...onlyBin]],
    ['download', (src, dst) => ['download', `file://${src}/`, dst, ...onlyBin]],
  ])('%s: only what the last matching filter includes', async (_name, args) => {
    const src = sourceTree();
    const dst = place('dst');
    await runCliOk(args(src, dst));
    expect(treeOf(dst)).toEqual(binTree);
  });

  test('rm -r deletes what the filters include; excluded objects stay', async () => {
    const src = sourceTree();
    await runCliOk(['rm', '-r', `file://${src}/`, '--exclude', '*', '--include', 'sub dir/*', '--exclude', '*.txt']);
    expect(treeOf(src).filter((entry) => !entry.endsWith('/'))).toEqual([
      '.hidden',
      'a.bin',
      'notes.txt',
      'sub dir/deep/x.txt',
    ]);
  });

  test('mv -r moves only the included objects', async () => {
    const src = sourceTree();
    const dst = place('dst');
    await runCliOk(['mv', '-r', src, dst, '--exclude', '.*']);
    expect(treeOf(dst)).not.toContain('.hidden');
    expect(treeOf(src).filter((entry) => !entry.endsWith('/'))).toEqual(['.hidden']);
  });

  test('filters with -p, or on rm without -r, are usage errors', async () => {
    expectUsage(await runCli(['rm', '-r', '-p', 'x', '--exclude', '*', 'file:///tmp/x/']), /give one or the other/);
    expectUsage(await runCli(['rm', '--exclude', '*', 'file:///tmp/x']), /need -r/);
    expectUsage(
      await runCli(['cp', '-r', '/tmp/a', '/tmp/b', '--include', '[z-a]']),
      /--include \[z-a\]: not a valid pattern/,
    );
  });
});

describe.each(cloudClis().map((cli) => [cli.scheme, cli] as const))('%s:// round trips', (scheme, cli: CloudCli) => {
  const bucket = `cli-copy-${scheme}-${process.pid}`;
  const bucketUri = cli.bucketUri(bucket);
  const run = (args: string[]): Promise<CliResult> => runCliOk([...cli.args, ...args], { env: cli.env });

  beforeAll(async () => {
    await run(['create-bucket', bucketUri]);
  });
  afterAll(async () => {
    await runCli([...cli.args, 'delete-bucket', '--force', bucketUri], { env: cli.env });
  });

  test('cp -r local → cloud → local keeps every byte and name; cp of one object to ./ keeps its name', async () => {
    const src = sourceTree();
    await run(['cp', '-r', relative(src), `${bucketUri}tree`]);
    const back = place('back');
    await run(['cp', '-r', `${bucketUri}tree/`, back]);
    expect(treeOf(back)).toEqual(FILE_TREE);
    expectSameTree(back);
    const one = place('one');
    mkdirSync(one);
    await run(['cp', `${bucketUri}tree/sub dir/ünï cödé.bin`, `${relative(one)}/`]);
    expectSameBytes(readFileSync(path.join(one, 'ünï cödé.bin')), FILES['sub dir/ünï cödé.bin']);
    const prefix = await runCli([...cli.args, 'cp', `${bucketUri}tree`, one], { env: cli.env });
    expectUsage(prefix, /is a prefix, not an object: add -r/);
    const bucketOnly = await runCli([...cli.args, 'cp', bucketUri.slice(0, -1), one], { env: cli.env });
    expectUsage(bucketOnly, /is a bucket: add -r \(--recursive\) to copy it/);
    const missing = await runCli([...cli.args, 'cp', `${bucketUri}tree/nope`, one], { env: cli.env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${bucketUri}tree/nope`);
  });

  test('sync local → cloud, cloud → cloud and cloud → local copies only what changed; --checksum agrees', async () => {
    const src = sourceTree();
    await run(['sync', src, `${bucketUri}synced/`]);
    expect((await run(['sync', src, `${bucketUri}synced/`])).stderr).toMatch(/5 unchanged/);
    await run(['sync', `${bucketUri}synced/`, `${bucketUri}mirror/`]);
    expect((await run(['sync', '--checksum', `${bucketUri}synced/`, `${bucketUri}mirror/`])).stderr).toMatch(
      /5 unchanged/,
    );
    const down = place('down');
    await run(['sync', `${bucketUri}mirror/`, down]);
    expectSameTree(down);
    expect((await run(['sync', '--checksum', src, `${bucketUri}mirror/`])).stderr).toMatch(/5 unchanged/);
    if (scheme === 'gs') {
      // gcs:// is another spelling of gs://: the paths below it are the same, nothing is deleted.
      const spelled = `gcs://${bucketUri.slice('gs://'.length)}`;
      await run(['sync', '--delete', `${spelled}mirror/`, `${spelled}spelled/`]);
      expect((await run(['sync', '--delete', `${spelled}mirror/`, `${spelled}spelled/`])).stderr).toMatch(
        /5 unchanged/,
      );
    }
    writeFileSync(path.join(src, 'notes.txt'), 'HELLO');
    const changed = await run(['-v', '--json', 'sync', '--checksum', '--delete', src, `${bucketUri}mirror/`]);
    expect(jsonLines(changed.stdout).filter((line) => line.type === 'object')).toEqual([
      expect.objectContaining({ uri: `file://${src}/notes.txt` }),
    ]);
  });

  test('cp -r and sync never write a key with .. (or an absolute one) outside a local destination', async () => {
    // Written through the library, as another client could: keys that climb out of the prefix.
    const store = cloudTargets()
      .find((target) => target.scheme === scheme)
      ?.store();
    if (!store) throw new Error(`no ${scheme} test target`);
    await store.put(`${bucketUri}evil/ok.txt`, 'fine');
    await store.put(`${bucketUri}evil//absolute.txt`, 'escaped');
    // Azure resolves `..` in blob URLs, so no blob can have such a key there.
    if (scheme !== 'az') await store.put(`${bucketUri}evil/../../escape.txt`, 'escaped');
    for (const command of ['cp', 'sync']) {
      const jail = place('jail');
      const into = path.join(jail, 'inside');
      const result = await runCli(
        [...cli.args, command, ...(command === 'cp' ? ['-r'] : []), `${bucketUri}evil/`, into],
        {
          env: cli.env,
        },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('ERR_UNSAFE_PATH');
      expect(treeOf(jail)).toEqual(['inside/', 'inside/ok.txt']);
    }
  });
});
