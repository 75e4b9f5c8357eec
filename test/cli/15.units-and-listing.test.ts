/**
 * Habits AWS CLI and rclone users bring: binary sizes (`4k` is 4096; `KB` and bit units refused),
 * decimal counts, `ls -l`/`-h`, `du`, `mb`/`rb`/`cat`, `--quiet`, summaries without meaningless
 * rates, and generated datasets whose names sort numerically and whose labels vary.
 */
import { readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'fs';
import * as path from 'path';

import { decodeExample, readHdf5, readNpz, readTfRecords } from '../../lib';
import { parseCount, parseSize } from '../../lib/cli/units';
import { CliUsageError } from '../../lib/cli/usage-error';
import { syntheticLabels } from '../../lib/formats';
import { useTempDir } from '../helpers/temp';
import { jsonLines, runCli, runCliOk } from './cli';

const tmp = useTempDir('s3dlio-cli-habits-');
const KiB = 1024;
const MiB = 1024 * KiB;

describe('one size rule: binary units, any case; decimal-byte and bit units refused', () => {
  test.each<[string, number]>([
    ['0', 0],
    ['4096', 4096],
    ['4k', 4 * KiB],
    ['4K', 4 * KiB],
    ['4Ki', 4 * KiB],
    ['4KiB', 4 * KiB],
    ['4kib', 4 * KiB],
    ['4KIB', 4 * KiB],
    ['1m', MiB],
    ['1M', MiB],
    ['1MiB', MiB],
    ['2G', 2 * 1024 * MiB],
    ['2gib', 2 * 1024 * MiB],
    ['1T', 2 ** 40],
    ['1P', 2 ** 50],
    ['1.5k', 1536],
    ['0.5KiB', 512],
    ['0.25M', 256 * KiB],
    ['12B', 12],
    ['12b', 12],
    [' 4k ', 4 * KiB],
    ['4 KiB', 4 * KiB],
    ['8191T', 8191 * 2 ** 40],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  test.each(['4KB', '4kB', '4kb', '4Kb', '1MB', '1mb', '1Mb', '2GB', '1TB', '4kbit', '4Mbit', '1.5MB'])(
    '%j is refused, naming the binary spelling',
    (text) => {
      expect(() => parseSize(text, '--size')).toThrow(CliUsageError);
      expect(() => parseSize(text, '--size')).toThrow(
        /decimal-byte or bit unit.*write [\d.]+[KMGT]iB \(or [\d.]+[kmgt]\)/,
      );
    },
  );

  test.each<[string, RegExp]>([
    ['', /invalid --size ''/],
    ['   ', /invalid --size/],
    ['-1k', /invalid --size '-1k'/],
    ['1e3', /invalid --size '1e3'/],
    ['0x10', /invalid --size '0x10'/],
    ['1,024', /invalid --size '1,024'/],
    ['.5k', /invalid --size '.5k'/],
    ['k', /invalid --size 'k'/],
    ['4XB', /unknown unit 'XB'/],
    ['4KiBs', /unknown unit 'KiBs'/],
    ['Infinity', /invalid --size/],
    ['1.5', /whole number of bytes/],
    ['1.1k', /whole number of bytes/], // 1126.4
    ['9007199254740992', /more than 9007199254740991/],
    ['8192T', /more than 9007199254740991/],
    ['99999999999999999999999P', /more than 9007199254740991/],
  ])('%j is a usage error (%s)', (text, message) => {
    expect(() => parseSize(text, '--size')).toThrow(message);
  });

  test.each<[string, number]>([
    ['10', 10],
    ['1k', 1000],
    ['1K', 1000],
    ['2M', 2_000_000],
    ['0.003k', 3],
    ['1g', 1e9],
  ])('counts stay decimal: %j is %d', (text, count) => {
    expect(parseCount(text)).toBe(count);
  });

  test.each(['0', '1KiB', '1.5', '-1', '', '1e3'])('count %j is a usage error', (text) => {
    expect(() => parseCount(text, '--objects')).toThrow(/invalid --objects/);
  });
});

describe('the rule in every size option of the CLI', () => {
  const base = (): string => `file://${tmp.path}/sizes`;

  test('put -s 4k writes 4096-byte objects; -s 4KB and -s 4Kb are usage errors with a hint', async () => {
    await runCliOk(['put', `${base()}/k/`, '-n', '2', '-s', '4k', '-c']);
    for (const name of readdirSync(path.join(tmp.path, 'sizes', 'k')))
      expect(statSync(path.join(tmp.path, 'sizes', 'k', name)).size).toBe(4096);
    for (const unit of ['4KB', '4Kb', '4kbit']) {
      const result = await runCli(['put', `${base()}/bad/`, '-n', '1', '-s', unit]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^s3dlio: invalid --size '${unit}'.*write 4KiB \\(or 4k\\)`));
    }
  });

  test('get and cat --offset/--length take the same units', async () => {
    mkdirSync(path.join(tmp.path, 'sizes'), { recursive: true });
    const file = path.join(tmp.path, 'sizes', 'range.bin');
    const bytes = Buffer.alloc(4 * KiB, 0);
    // Printable ASCII: the test reads the child's stdout as text.
    for (let i = 0; i < bytes.length; i++) bytes[i] = 33 + ((i * 7) % 94);
    writeFileSync(file, bytes);
    const uri = `file://${file}`;
    const cat = await runCliOk(['cat', uri, '--offset', '1k', '--length', '1KiB']);
    expect(cat.stdout).toBe(bytes.subarray(1024, 2048).toString('latin1'));
    const length = await runCli(['get', uri, '--offset', '0', '--length', '1kB', '-o', '-']);
    expect(length.code).toBe(2);
    expect(length.stderr).toMatch(/invalid --length '1kB'.*1KiB/);
    const offset = await runCli(['get', uri, '--offset', '2Mb']);
    expect(offset.code).toBe(2);
    expect(offset.stderr).toMatch(/invalid --offset '2Mb'/);
  });
});

describe('ls -l, -h, --json; du', () => {
  const root = (): string => path.join(tmp.path, 'listing');
  const uri = (rel = ''): string => `file://${root()}/${rel}`;

  beforeAll(() => {
    mkdirSync(path.join(root(), 'sub', 'deep'), { recursive: true });
    writeFileSync(path.join(root(), 'a.bin'), Buffer.alloc(1536));
    writeFileSync(path.join(root(), 'sub', 'b.bin'), Buffer.alloc(3 * MiB));
    writeFileSync(path.join(root(), 'sub', 'deep', 'c.bin'), Buffer.alloc(10));
  });

  test('ls -l: size, time and etag (or -) per object; DIR for a prefix', async () => {
    const { stdout } = await runCliOk(['ls', '-l', uri()]);
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines.find((line) => line.endsWith('a.bin'))).toMatch(
      /^\s+1536 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S+\s+file:\/\/.*\/a\.bin$/,
    );
    expect(lines.find((line) => line.endsWith('sub/'))).toMatch(/^\s+DIR -\s+-\s+file:\/\/.*\/sub\/$/);
  });

  test('ls -lh: sizes in binary units', async () => {
    const { stdout } = await runCliOk(['ls', '-l', '-h', '-r', uri()]);
    expect(stdout).toMatch(/^\s+1\.5 KiB .*a\.bin$/m);
    expect(stdout).toMatch(/^\s+3\.0 MiB .*b\.bin$/m);
    expect(stdout).toMatch(/^\s+10 B .*c\.bin$/m);
  });

  test('ls -l --json: size and lastModified on each line', async () => {
    const lines = jsonLines((await runCliOk(['--json', 'ls', '-lr', uri()])).stdout);
    const byName = new Map(lines.map((line) => [path.basename(line.uri as string), line]));
    expect(byName.get('b.bin')).toMatchObject({ type: 'object', size: 3 * MiB });
    expect(Date.parse(byName.get('b.bin')!.lastModified as string)).toBeGreaterThan(Date.parse('2020-01-01'));
    expect([...byName.keys()].sort()).toEqual(['a.bin', 'b.bin', 'c.bin']);
  });

  test('du (alias size) totals every depth; -h; --json; --no-recursive', async () => {
    const total = 1536 + 3 * MiB + 10;
    expect((await runCliOk(['du', uri()])).stdout).toBe(`3 objects, ${total} B  ${uri()}\n`);
    expect((await runCliOk(['size', '-h', uri()])).stdout).toBe(`3 objects, 3.0 MiB  ${uri()}\n`);
    expect(jsonLines((await runCliOk(['--json', 'du', uri()])).stdout)).toEqual([
      { type: 'size', uri: uri(), objects: 3, bytes: total },
    ]);
    expect((await runCliOk(['du', '--no-recursive', uri()])).stdout).toBe(`1 object, 1536 B  ${uri()}\n`);
    expect((await runCliOk(['du', uri('nothing-here/')])).stdout).toBe(`0 objects, 0 B  ${uri('nothing-here/')}\n`);
  });

  test.each<[string[], RegExp]>([
    [['ls', '-h', '/'], /-h\/--human-readable formats the sizes of -l; add -l/],
    [['ls', '-l', '-c', '/'], /-l and -c exclude each other/],
    // Nothing to run in parallel: the details come with the listing pages.
    [['ls', '-l', '-j', '4', '/'], /unknown option '-j'/],
    [['du', '--jobs', '4', '/'], /unknown option '--jobs'/],
    [['--quiet', '-v', 'ls', '/'], /--quiet and --verbose exclude each other/],
    [['--profile', 'dev', 'ls', '/'], /--profile \(an AWS profile\) applies to s3:\/\/ URIs only/],
    [['put', '/', '-n', '1', '-s', '1', '--classes', '3'], /--classes labels the records of --format npz/],
    [['put', '/', '-n', '1', '-s', '1', '--format', 'npz', '--classes', '0'], /invalid --classes '0'/],
    [['put', '/', '-n', '1', '-s', '1', '--seed', '-1'], /invalid --seed '-1'|unknown option '-1'/],
  ])('%j is a usage error', async (args, message) => {
    const result = await runCli(args.map((arg) => (arg === '/' ? uri() : arg)));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toMatch(message);
  });
});

describe('mb, rb, cat', () => {
  test('mb creates a bucket, cat prints an object and nothing else, rb refuses a non-empty one naming --force', async () => {
    const bucket = `file://${tmp.path}/mb-bucket/`;
    await runCliOk(['mb', bucket]);
    expect(statSync(path.join(tmp.path, 'mb-bucket')).isDirectory()).toBe(true);
    writeFileSync(path.join(tmp.path, 'mb-bucket', 'hello.txt'), 'hello world');
    const cat = await runCliOk(['cat', `${bucket}hello.txt`]);
    expect(cat).toMatchObject({ stdout: 'hello world', stderr: '' });
    const refused = await runCli(['rb', bucket]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /not empty; pass --force \(-f\) to delete its objects first \[ERR_BUCKET_NOT_EMPTY\]/,
    );
    expect(refused.stderr).not.toMatch(/force: true/);
    await runCliOk(['rb', '--force', bucket]);
    expect(() => statSync(path.join(tmp.path, 'mb-bucket'))).toThrow();
  });
});

describe('--quiet: nothing on success, failures still on stderr, exit codes unchanged', () => {
  const uri = (rel: string): string => `file://${tmp.path}/quiet/${rel}`;

  // URIs are made when each test runs: the temporary directory does not exist while tests are collected.
  test.each<[string, string[]]>([
    ['put', ['put', 'a/', '-n', '3', '-s', '1k', '-c']],
    ['get', ['get', '-r', 'a/']],
    ['cp', ['cp', '-r', 'a/', 'b/']],
    ['rm', ['rm', '-r', 'b/']],
    ['mb', ['mb', 'c/']],
    ['rb', ['rb', 'c/']],
  ])('%s prints nothing', async (_name, args) => {
    for (const flag of ['-q', '--quiet']) {
      if (args[0] === 'rb') await runCliOk(['mb', uri('c/')]);
      const result = await runCliOk([flag, ...args.map((arg) => (arg.endsWith('/') ? uri(arg) : arg))]);
      expect(result).toMatchObject({ stdout: '', stderr: '' });
      if (args[0] === 'mb') await runCliOk(['rb', uri('c/')]);
    }
    if (args[0] === 'rb') expect(readdirSync(path.join(tmp.path, 'quiet')).sort()).toEqual(['a', 'b']);
  });

  test('a failure still prints its error and exits 1; --json too', async () => {
    const failed = await runCli(['-q', 'stat', uri('missing')]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/ERR_NOT_FOUND/);
    const json = await runCli(['-q', '--json', 'get', uri('missing')]);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe(''); // no summary line
    expect(jsonLines(json.stderr)).toMatchObject([{ type: 'error', code: 'ERR_NOT_FOUND' }]);
  });

  test('results are still printed (a listing is the output)', async () => {
    const { stdout, stderr } = await runCliOk(['-q', 'ls', uri('a/')]);
    expect(stdout.split('\n').filter(Boolean)).toHaveLength(3);
    expect(stderr).toBe('');
  });
});

describe('summaries print only meaningful figures', () => {
  const uri = (rel: string): string => `file://${tmp.path}/summaries/${rel}`;

  test('put and get: bytes and MiB/s; rm and ls: objects only, no bytes, no byte rate', async () => {
    const put = await runCliOk(['put', uri('s/'), '-n', '2', '-s', '1k', '-c']);
    expect(put.stderr).toMatch(/^put: 2 objects, 2\.0 KiB in [\d.]+ s \([\d.]+ MiB\/s, [\d.]+ objects\/s\)\n$/);
    const ls = await runCliOk(['-v', 'ls', uri('s/')]);
    expect(ls.stderr).toMatch(/^ls: 2 objects in [\d.]+ s \([\d.]+ objects\/s\)\n$/);
    const rm = await runCliOk(['rm', '-r', uri('s/')]);
    expect(rm.stderr).toMatch(/^rm: 2 objects in [\d.]+ s \([\d.]+ objects\/s\)\n$/);
    const [summary] = jsonLines((await runCliOk(['--json', 'rm', '-r', uri('s/')])).stdout);
    expect(summary).toMatchObject({ type: 'summary', operation: 'rm', objects: 0 });
    expect(summary).not.toHaveProperty('bytes');
    expect(summary).not.toHaveProperty('MiBps');
    expect(summary).not.toHaveProperty('objectsPerSecond'); // nothing was deleted
  });

  test('a get of an empty object prints no byte rate; --json names the rate MiBps', async () => {
    writeFileSync(path.join(tmp.path, 'summaries', 'empty.bin'), '');
    const get = await runCliOk(['get', uri('empty.bin')]);
    expect(get.stderr).toMatch(/^get: 1 object, 0 B in [\d.]+ s \([\d.]+ objects\/s\)\n$/);
    writeFileSync(path.join(tmp.path, 'summaries', 'full.bin'), Buffer.alloc(MiB));
    const [summary] = jsonLines((await runCliOk(['--json', 'get', uri('full.bin')])).stdout);
    expect(summary).toMatchObject({ operation: 'get', objects: 1, bytes: MiB });
    expect(summary!.MiBps).toEqual(expect.any(Number));
    expect(summary).not.toHaveProperty('MBps');
  });
});

describe('generated datasets: names sort numerically, labels vary and are reproducible', () => {
  const dir = (rel: string): string => path.join(tmp.path, 'datasets', rel);

  test('names are zero-padded to the width of the count, so a plain sort is the numeric order', async () => {
    await runCliOk(['put', `file://${dir('raw')}/`, '-n', '12', '-s', '1', '-c']);
    const names = readdirSync(dir('raw')).sort();
    expect(names).toEqual(Array.from({ length: 12 }, (_, i) => `object_${String(i).padStart(2, '0')}_of_12.bin`));
    await runCliOk(['put', `file://${dir('tpl')}/`, '-n', '100', '-s', '0', '-t', 'part-{}.dat', '-c']);
    expect(readdirSync(dir('tpl')).sort().slice(0, 3)).toEqual(['part-000.dat', 'part-001.dat', 'part-002.dat']);
  });

  test('npz: a class label per object, spread over --classes, the same for the same --seed', async () => {
    const labelsOf = (sub: string): number[] =>
      readdirSync(dir(sub))
        .sort()
        .map((name) =>
          Number((readNpz(readFileSync(path.join(dir(sub), name))).get('label')!.data as BigInt64Array)[0]),
        );
    // 40 npz objects below `sub`, 4 classes.
    const putNpz = (sub: string, ...extra: string[]) =>
      runCliOk(['put', `file://${dir(sub)}/`, '-n', '40', '-s', '16', '--format', 'npz', '--classes', '4', ...extra]);
    await putNpz('npz1', '-c');
    await putNpz('npz2', '-c');
    const first = labelsOf('npz1');
    expect(new Set(first)).toEqual(new Set([0, 1, 2, 3]));
    expect(labelsOf('npz2')).toEqual(first); // deterministic without --seed (seed 0)
    await putNpz('npz3', '--seed', '7');
    expect(labelsOf('npz3')).not.toEqual(first);
    await runCliOk(['put', `file://${dir('npz10')}/`, '-n', '60', '-s', '1', '--format', 'npz', '-c']);
    const tens = labelsOf('npz10');
    expect(Math.max(...tens)).toBe(9);
    expect(new Set(tens).size).toBeGreaterThan(5);
  });

  test('tfrecord: each record its own label; hdf5: a label dataset', async () => {
    await runCliOk([
      'put',
      `file://${dir('tf')}/`,
      '-n',
      '2',
      '-s',
      '64',
      '--format',
      'tfrecord',
      '--records',
      '16',
      '-c',
    ]);
    const labels = readdirSync(dir('tf'))
      .filter((name) => name.endsWith('.tfrecord'))
      .sort()
      .flatMap((name) =>
        [...readTfRecords(readFileSync(path.join(dir('tf'), name)))].map((record) =>
          Number((decodeExample(record).get('label')!.value as BigInt64Array)[0]),
        ),
      );
    expect(labels).toHaveLength(32);
    expect(new Set(labels).size).toBeGreaterThan(4);
    expect(labels).toEqual([0, 1].flatMap((object) => syntheticLabels({ classes: 10, object, records: 16 })));
    await runCliOk([
      'put',
      `file://${dir('h5')}/`,
      '-n',
      '3',
      '-s',
      '8',
      '--format',
      'hdf5',
      '--classes',
      '1000',
      '-c',
    ]);
    const h5 = await Promise.all(
      readdirSync(dir('h5'))
        .sort()
        .map(async (name) => (await readHdf5(readFileSync(path.join(dir('h5'), name)))).get('label')!.data),
    );
    expect(h5.map((data) => Number((data as BigInt64Array)[0]))).toEqual(
      [0, 1, 2].map((object) => syntheticLabels({ classes: 1000, object })[0]),
    );
  });

  test('--seed makes the payload reproducible, each object different', async () => {
    for (const sub of ['seed-a', 'seed-b']) {
      await runCliOk(['put', `file://${dir(sub)}/`, '-n', '2', '-s', '4k', '--seed', '42', '-c']);
    }
    const read = (sub: string, i: number): Buffer => readFileSync(path.join(dir(sub), `object_${i}_of_2.bin`));
    expect(read('seed-a', 0).equals(read('seed-b', 0))).toBe(true);
    expect(read('seed-a', 1).equals(read('seed-b', 1))).toBe(true);
    expect(read('seed-a', 0).equals(read('seed-a', 1))).toBe(false);
  });

  test('syntheticLabels: in range, varied, reproducible; bad input is a typed error', () => {
    const labels = Array.from({ length: 1000 }, (_, object) => syntheticLabels({ classes: 10, object, seed: 3 })[0]!);
    const counts = new Array<number>(10).fill(0);
    for (const label of labels) counts[label]!++;
    // Every class present, none dominant: about 100 each.
    for (const count of counts) expect(count).toBeGreaterThan(50);
    expect(syntheticLabels({ classes: 10, object: 5, seed: 3, records: 4 })).toEqual(
      syntheticLabels({ classes: 10, object: 5, seed: 3, records: 4 }),
    );
    expect(syntheticLabels({ classes: 1, object: 9, records: 3 })).toEqual([0, 0, 0]);
    expect(() => syntheticLabels({ classes: 0, object: 0 })).toThrow(/options\.classes/);
    expect(() => syntheticLabels({ classes: 2, object: -1 })).toThrow(/options\.object/);
    expect(() => syntheticLabels({ classes: 2, object: 0, seed: 0.5 })).toThrow(/options\.seed/);
  });
});
