/**
 * Every command on file:// and direct://, run as the built binary; results are checked on disk,
 * not in the CLI's own output only.
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import * as path from 'path';

import { REPO_ROOT } from '../helpers/child';
import { expectRatios } from '../helpers/datagen';
import { expectSameBytes, tempFilesIn, testBytes, treeOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { hdf5Tool, python } from '../formats/tools';
import { BIN, jsonLines, runCli, runCliOk } from './cli';
import { describeWith } from '../helpers/tools';

const tmp = useTempDir('s3dlio-cli-local-');

/** The summary line of a --json run. */
function summaryOf(stdout: string): Record<string, unknown> {
  const summary = jsonLines(stdout).find((line) => line.type === 'summary');
  if (!summary) throw new Error(`no summary line in:\n${stdout}`);
  return summary;
}

describe.each(['file', 'direct'] as const)('%s://', (scheme) => {
  const root = (): string => path.join(tmp.path, scheme);
  const uri = (rel: string): string => `${scheme}://${root()}/${rel}`;

  test('put writes -n objects of -s bytes named by the template, and reports them', async () => {
    const result = await runCliOk(['--json', 'put', uri('gen/'), '-n', '5', '-s', '64KiB', '-j', '2', '-c']);
    expect(treeOf(path.join(root(), 'gen'))).toEqual([0, 1, 2, 3, 4].map((i) => `object_${i}_of_5.bin`));
    for (const name of treeOf(path.join(root(), 'gen')))
      expect(statSync(path.join(root(), 'gen', name)).size).toBe(65536);
    expect(summaryOf(result.stdout)).toMatchObject({ operation: 'put', objects: 5, bytes: 5 * 65536, failed: 0 });
  });

  test('put -t names objects; counts accept 1k-style (decimal) suffixes and sizes binary ones', async () => {
    await runCliOk(['put', uri('named/'), '-n', '0.003k', '-s', '2k', '-t', 'shard-{}-of-{}.dat']);
    expect(treeOf(path.join(root(), 'named'))).toEqual(['shard-0-of-3.dat', 'shard-1-of-3.dat', 'shard-2-of-3.dat']);
    expect(statSync(path.join(root(), 'named', 'shard-2-of-3.dat')).size).toBe(2048);
  });

  test.each([
    ['4', '1'],
    ['1.5', '2.5'],
    ['2.5', '1.5'],
  ])('put -d %s -x %s: the ratios, fractional ones too, are met to the block and the byte', async (dedup, compress) => {
    const dir = `dedup/${dedup}-${compress}/`;
    await runCliOk(['put', uri(dir), '-n', '1', '-s', '4MiB', '-d', dedup, '-x', compress]);
    expectRatios(readFileSync(path.join(root(), dir, 'object_0_of_1.bin')), Number(dedup), Number(compress));
  });

  test('ls lists direct children (directories end with /); -r everything; -p filters; -c counts', async () => {
    const ls = await runCliOk(['ls', uri('')]);
    expect(ls.stdout.split('\n').filter(Boolean).sort()).toEqual([uri('dedup/'), uri('gen/'), uri('named/')].sort());
    const all = await runCliOk(['ls', '-r', uri('gen/')]);
    expect(all.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [0, 1, 2, 3, 4].map((i) => uri(`gen/object_${i}_of_5.bin`)),
    );
    expect(all.stderr).toBe(''); // piped and not -v: no summary, no progress
    const filtered = await runCliOk(['ls', '-r', '-p', '_[13]_of', uri('gen/')]);
    expect(filtered.stdout.split('\n').filter(Boolean).sort()).toEqual([
      uri('gen/object_1_of_5.bin'),
      uri('gen/object_3_of_5.bin'),
    ]);
    const count = await runCliOk(['list', '-r', '-c', uri('')]);
    expect(count.stdout).toBe('11\n'); // gen/ 5, named/ 3, dedup/ 3
    const json = await runCliOk(['--json', 'ls', '-r', '-c', uri('gen/')]);
    expect(jsonLines(json.stdout)).toEqual([{ type: 'count', uri: uri('gen/'), count: 5 }]);
  });

  test('stat prints the size and time (text and --json)', async () => {
    const text = await runCliOk(['stat', uri('gen/object_0_of_5.bin')]);
    expect(text.stdout).toContain('size: 65536');
    expect(text.stdout).toMatch(/lastModified: \d{4}-\d\d-\d\dT/);
    const [json] = jsonLines((await runCliOk(['--json', 'stat', uri('gen/object_0_of_5.bin')])).stdout);
    expect(json).toMatchObject({ type: 'stat', uri: uri('gen/object_0_of_5.bin'), size: 65536 });
  });

  test('get of a prefix reads every object (and keeps none); -v prints a line per object', async () => {
    const result = await runCliOk(['-v', 'get', '-j', '3', uri('gen/')]);
    expect(result.stderr.match(/^get .* 65536 B$/gm)).toHaveLength(5);
    expect(result.stderr).toMatch(/get: 5 objects, 320\.0 KiB in [\d.]+ s \([\d.]+ MiB\/s, [\d.]+ objects\/s\)/);
  });

  test('get -o FILE saves one object to that file; -o DIR/ (or an existing directory) into it', async () => {
    const source = path.join(root(), 'gen', 'object_2_of_5.bin');
    const file = path.join(tmp.path, `${scheme}-out`, 'two.bin');
    await runCliOk(['get', uri('gen/object_2_of_5.bin'), '-o', file]);
    expectSameBytes(readFileSync(file), readFileSync(source));
    const into = path.join(tmp.path, `${scheme}-into`);
    await runCliOk(['get', uri('gen/object_2_of_5.bin'), '-o', `${into}/`]);
    expectSameBytes(readFileSync(path.join(into, 'object_2_of_5.bin')), readFileSync(source));
    await runCliOk(['get', uri('gen/object_3_of_5.bin'), '-o', into]); // exists: a directory
    expect(treeOf(into)).toEqual(['object_2_of_5.bin', 'object_3_of_5.bin']);
  });

  test('cp -r copies a prefix to another; the copies are identical; cp of one object too', async () => {
    const result = await runCliOk(['--json', 'cp', '-r', uri('gen/'), uri('copy/')]);
    expect(summaryOf(result.stdout)).toMatchObject({ operation: 'cp', objects: 5, bytes: 5 * 65536 });
    for (let i = 0; i < 5; i++) {
      expectSameBytes(
        readFileSync(path.join(root(), 'copy', `object_${i}_of_5.bin`)),
        readFileSync(path.join(root(), 'gen', `object_${i}_of_5.bin`)),
      );
    }
    await runCliOk(['cp', uri('gen/object_0_of_5.bin'), uri('single/zero.bin')]);
    expect(statSync(path.join(root(), 'single', 'zero.bin')).size).toBe(65536);
  });

  test('upload then download round-trip keys with spaces and unicode', async () => {
    const local = path.join(tmp.path, `${scheme}-local`);
    mkdirSync(path.join(local, 'sub dir'), { recursive: true });
    writeFileSync(path.join(local, 'sub dir', 'naïve café.txt'), testBytes(3000, 7));
    writeFileSync(path.join(local, 'top.bin'), testBytes(70_000, 8));
    const up = await runCliOk(['-v', '--json', 'upload', `${local}/**`, uri('up/')]);
    expect(summaryOf(up.stdout)).toMatchObject({ operation: 'upload', objects: 2, bytes: 73_000 });
    expect(jsonLines(up.stdout)).toContainEqual({
      type: 'object',
      operation: 'upload',
      uri: uri('up/top.bin'),
      bytes: 70_000,
    });
    expect(treeOf(path.join(root(), 'up'))).toEqual(['sub dir/', 'sub dir/naïve café.txt', 'top.bin']);

    const back = path.join(tmp.path, `${scheme}-back`);
    const down = await runCliOk(['-v', '--json', 'download', uri('up/'), back]);
    expect(summaryOf(down.stdout)).toMatchObject({ operation: 'download', objects: 2, bytes: 73_000 });
    expect(jsonLines(down.stdout)).toContainEqual({
      type: 'object',
      operation: 'download',
      uri: uri('up/sub dir/naïve café.txt'),
      bytes: 3000,
    });
    expectSameBytes(readFileSync(path.join(back, 'sub dir', 'naïve café.txt')), testBytes(3000, 7));
    expectSameBytes(readFileSync(path.join(back, 'top.bin')), testBytes(70_000, 8));
  });

  test('rm -r -p deletes only matching keys, rm -r the rest; rm of a missing object fails with exit 1', async () => {
    const some = await runCliOk(['--json', 'rm', '-r', '-p', '_[02]_of', uri('copy/')]);
    expect(summaryOf(some.stdout)).toMatchObject({ operation: 'rm', objects: 2 });
    expect(treeOf(path.join(root(), 'copy'))).toEqual(['object_1_of_5.bin', 'object_3_of_5.bin', 'object_4_of_5.bin']);
    await runCliOk(['delete', '-r', uri('copy/')]);
    expect((await runCliOk(['ls', '-r', '-c', uri('copy/')])).stdout).toBe('0\n');
    const missing = await runCli(['rm', uri('copy/object_1_of_5.bin')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('[ERR_NOT_FOUND]');
  });

  test('get -r, download and rm -r of an empty prefix say so (and succeed: nothing failed)', async () => {
    for (const args of [
      ['get', '-r', uri('nothing/')],
      ['download', uri('nothing/'), tmp.path],
      ['rm', '-r', uri('nothing/')],
    ]) {
      const result = await runCliOk(args);
      expect(result.stderr).toContain(`no objects below ${uri('nothing/')}`);
    }
  });

  test('create-bucket and delete-bucket make and remove a directory; delete-bucket refuses a non-empty one', async () => {
    await runCliOk(['create-bucket', uri('bucket-a/')]);
    expect(statSync(path.join(root(), 'bucket-a')).isDirectory()).toBe(true);
    writeFileSync(path.join(root(), 'bucket-a', 'x'), 'x');
    const refused = await runCli(['delete-bucket', uri('bucket-a/')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[ERR_BUCKET_NOT_EMPTY]');
    await runCliOk(['delete-bucket', '--force', uri('bucket-a/')]);
    expect(() => statSync(path.join(root(), 'bucket-a'))).toThrow();
  });

  test('no temporary files were left anywhere', () => {
    expect(tempFilesIn(root())).toEqual([]);
  });
});

describe('get -o - writes the exact bytes of a range to stdout', () => {
  test('binary-safe', () => {
    const file = path.join(tmp.path, 'range-source.bin');
    const data = testBytes(10_000, 3);
    writeFileSync(file, data);
    // execFileSync keeps stdout as a Buffer (runCli decodes it as text).
    const out = execFileSync(process.execPath, [
      BIN,
      'get',
      `file://${file}`,
      '--offset',
      '1000',
      '--length',
      '4KiB',
      '-o',
      '-',
    ]);
    expectSameBytes(out, data.subarray(1000, 1000 + 4096));
  });
});

describe('ls streams: 100,000 keys list in a heap far too small to hold them', () => {
  const many = (): string => path.join(tmp.path, 'many');
  beforeAll(() => {
    for (let d = 0; d < 100; d++) {
      mkdirSync(path.join(many(), `d${d}`), { recursive: true });
      for (let i = 0; i < 1000; i++)
        writeFileSync(path.join(many(), `d${d}`, `an-object-name-of-some-length-${i}.bin`), '');
    }
  });

  test('ls -r -c counts them with a 12 MB old-space heap', async () => {
    const result = await runCliOk(['ls', '-r', '-c', `file://${many()}/`], { nodeArgs: ['--max-old-space-size=12'] });
    expect(result.stdout).toBe('100000\n');
  });

  test('ls -r prints every one of them with that heap', async () => {
    const result = await runCliOk(['ls', '-r', `file://${many()}/`], { nodeArgs: ['--max-old-space-size=12'] });
    expect(new Set(result.stdout.split('\n').filter(Boolean)).size).toBe(100_000);
  });

  test('control: collecting the same listing into an array does not fit in that heap', () => {
    const script = `require(${JSON.stringify(path.join(REPO_ROOT, 'dist'))}).list(${JSON.stringify(`file://${many()}/`)}, { recursive: true }).then((l) => console.log(l.length));`;
    const result = spawnSync(process.execPath, ['--max-old-space-size=12', '-e', script], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/heap out of memory/i);
  });
});

describeWith(['numpy', 'h5dump'], 'put --format: formats that other tools read', () => {
  test('npz objects load in numpy with the payload size; hdf5 objects show their dataset in h5dump', async () => {
    await runCliOk(['put', `file://${tmp.path}/fmt/`, '-n', '2', '-s', '10000', '--format', 'npz', '-x', '2']);
    const shapes = python<Array<[number[], string]>>(
      `print(json.dumps([[list(np.load(p)['data'].shape), str(np.load(p)['data'].dtype)] for p in ARGS]))`,
      path.join(tmp.path, 'fmt', 'object_0_of_2.npz'),
      path.join(tmp.path, 'fmt', 'object_1_of_2.npz'),
    );
    expect(shapes).toEqual([
      [[10000], 'uint8'],
      [[10000], 'uint8'],
    ]);
    await runCliOk(['put', `file://${tmp.path}/fmt/`, '-n', '1', '-s', '4KiB', '--format', 'hdf5']);
    const header = hdf5Tool('h5dump', '-H', path.join(tmp.path, 'fmt', 'object_0_of_1.h5'));
    expect(header).toMatch(/DATASET "data"/);
    expect(header).toMatch(/DATASPACE\s+SIMPLE \{ \( 4096 \)/);
  });
});
