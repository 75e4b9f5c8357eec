/**
 * The same commands against the cloud test servers (moto, Azurite, the GCS test server), as a user
 * would run them: endpoint and credentials from --endpoint-url and the usual environment variables.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';

import { expectSameBytes, testBytes, treeOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { requiredEnv } from '../cloud/targets';
import { type FaultProxy, startFaultProxy } from '../servers/fault-proxy';
import { type CloudCli, cloudClis, jsonLines, runCli, runCliOk } from './cli';

const tmp = useTempDir('s3dlio-cli-cloud-');

describe.each(cloudClis().map((cli) => [cli.scheme, cli] as const))('%s://', (scheme, cli: CloudCli) => {
  const bucket = `cli-${scheme}-${process.pid}`;
  const bucketUri = cli.bucketUri(bucket);
  const run = (args: string[]): ReturnType<typeof runCliOk> => runCliOk([...cli.args, ...args], { env: cli.env });
  const lines = (text: string): string[] => text.split('\n').filter(Boolean).sort();

  test('create-bucket, then list-buckets shows it', async () => {
    await run(['create-bucket', bucketUri]);
    const buckets = await run(['list-buckets', cli.schemeUri]);
    expect(lines(buckets.stdout)).toContain(bucketUri);
  });

  test('put --format tfrecord writes objects and their .idx sidecars; ls -r lists them', async () => {
    const put = await run([
      '--json',
      'put',
      `${bucketUri}gen/`,
      '-n',
      '4',
      '-s',
      '100KiB',
      '--format',
      'tfrecord',
      '--records',
      '4',
    ]);
    expect(jsonLines(put.stdout).find((line) => line.type === 'summary')).toMatchObject({ objects: 4, failed: 0 });
    const listing = await run(['ls', '-r', `${bucketUri}gen/`]);
    expect(lines(listing.stdout)).toEqual(
      [0, 1, 2, 3]
        .flatMap((i) => [`${bucketUri}gen/object_${i}_of_4.tfrecord`, `${bucketUri}gen/object_${i}_of_4.tfrecord.idx`])
        .sort(),
    );
    const index = await runCliOk([...cli.args, 'get', `${bucketUri}gen/object_0_of_4.tfrecord.idx`, '-o', '-'], {
      env: cli.env,
    });
    expect(index.stdout.trim().split('\n')).toHaveLength(4);
  });

  test('stat and get of one object; get of the prefix reads all eight', async () => {
    const [stat] = jsonLines((await run(['--json', 'stat', `${bucketUri}gen/object_1_of_4.tfrecord`])).stdout);
    expect(stat).toMatchObject({ type: 'stat', uri: `${bucketUri}gen/object_1_of_4.tfrecord` });
    expect(stat.size as number).toBeGreaterThan(100 * 1024);
    const all = await run(['--json', 'get', '-r', `${bucketUri}gen/`]);
    expect(jsonLines(all.stdout).find((line) => line.type === 'summary')).toMatchObject({ objects: 8, failed: 0 });
  });

  test('upload, download and cp -r (cloud → cloud, cloud → file://) keep every byte and key', async () => {
    const local = path.join(tmp.path, `${scheme}-up`);
    mkdirSync(path.join(local, 'a b'), { recursive: true });
    writeFileSync(path.join(local, 'a b', 'ünïcode.bin'), testBytes(200_000, 11));
    writeFileSync(path.join(local, 'plain.txt'), 'hello');
    await run(['upload', `${local}/**`, `${bucketUri}up/`]);

    await run(['cp', '-r', `${bucketUri}up/`, `${bucketUri}copied/`]);
    const back = path.join(tmp.path, `${scheme}-back`);
    await run(['download', `${bucketUri}copied/`, back]);
    expect(treeOf(back)).toEqual(['a b/', 'a b/ünïcode.bin', 'plain.txt']);
    expectSameBytes(readFileSync(path.join(back, 'a b', 'ünïcode.bin')), testBytes(200_000, 11));

    const toFile = path.join(tmp.path, `${scheme}-cp`);
    await run(['cp', '-r', `${bucketUri}up/`, `file://${toFile}/`]);
    expect(readFileSync(path.join(toFile, 'plain.txt'), 'utf8')).toBe('hello');
  });

  test('--io-threads: upload and download through I/O threads keep every byte', async () => {
    const local = path.join(tmp.path, `${scheme}-threads`);
    mkdirSync(local, { recursive: true });
    writeFileSync(path.join(local, 'large.bin'), testBytes(3 * 1024 * 1024 + 5, 12));
    await run(['--io-threads', '2', 'upload', `${local}/**`, `${bucketUri}threads/`]);
    const back = path.join(tmp.path, `${scheme}-threads-back`);
    await run(['--io-threads', '2', 'download', `${bucketUri}threads/`, back]);
    expectSameBytes(readFileSync(path.join(back, 'large.bin')), testBytes(3 * 1024 * 1024 + 5, 12));
  });

  test('rm -r -p deletes the matching keys only; rm of a missing key exits 1', async () => {
    await run(['rm', '-r', '-p', '\\.idx$', `${bucketUri}gen/`]);
    expect(lines((await run(['ls', '-r', `${bucketUri}gen/`])).stdout)).toEqual(
      [0, 1, 2, 3].map((i) => `${bucketUri}gen/object_${i}_of_4.tfrecord`),
    );
    const missing = await runCli([...cli.args, 'rm', `${bucketUri}gen/nope.bin`], { env: cli.env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${bucketUri}gen/nope.bin`);
  });

  test('delete-bucket refuses a non-empty bucket; --force empties and deletes it', async () => {
    const refused = await runCli([...cli.args, 'delete-bucket', bucketUri], { env: cli.env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[ERR_BUCKET_NOT_EMPTY]');
    // The CLI's flag, not the library's option, whatever words the service used.
    expect(refused.stderr).toContain('pass --force (-f) to delete its objects first');
    expect(refused.stderr).not.toContain('force: true');
    await run(['delete-bucket', '--force', bucketUri]);
    expect(lines((await run(['list-buckets', cli.schemeUri])).stdout)).not.toContain(bucketUri);
  });
});

describe('s3:// over several endpoints (--endpoints)', () => {
  const proxies: FaultProxy[] = [];
  const s3 = cloudClis().find((cli) => cli.scheme === 's3');
  const maybe = s3 ? test : test.skip;
  beforeAll(async () => {
    if (!s3) return;
    for (let i = 0; i < 2; i++) proxies.push(await startFaultProxy({ target: requiredEnv('S3DLIO_TEST_S3_ENDPOINT') }));
  });
  afterAll(() => Promise.all(proxies.map((proxy) => proxy.stop())));

  maybe('put, ls and get spread over both endpoints; a dead one does not fail the command', async () => {
    const cli = s3 as CloudCli;
    const bucketUri = `s3://cli-multi-${process.pid}/`;
    const args = (...rest: string[]): string[] => [
      '--endpoints',
      proxies.map((proxy) => proxy.url).join(','),
      '--endpoint-strategy',
      'least-connections',
      '--region',
      'us-east-1',
      ...rest,
    ];
    await runCliOk(args('create-bucket', bucketUri), { env: cli.env });
    await runCliOk(args('put', `${bucketUri}m/`, '-n', '20', '-s', '4KiB', '-j', '4'), { env: cli.env });
    expect(proxies.every((proxy) => proxy.stats.requests > 2)).toBe(true);
    await proxies[1].stop();
    const listing = await runCliOk(args('ls', `${bucketUri}m/`), { env: cli.env });
    expect(listing.stdout.trim().split('\n')).toHaveLength(20);
    const all = await runCliOk(args('--json', 'get', '-r', `${bucketUri}m/`), { env: cli.env });
    expect(jsonLines(all.stdout).find((line) => line.type === 'summary')).toMatchObject({ objects: 20, failed: 0 });
    await runCliOk(args('delete-bucket', '-f', bucketUri), { env: cli.env });
  });
});

describe("s3://: the AWS SDK's notice that its 2027 releases need Node 22", () => {
  const s3 = cloudClis().find((cli) => cli.scheme === 's3');
  // The SDK prints it on Node < 22 only.
  const maybe = s3 && Number(process.versions.node.split('.')[0]) < 22 ? test : test.skip;

  maybe("is not printed before a command's output; -v shows it", async () => {
    const cli = s3 as CloudCli;
    const quiet = await runCliOk([...cli.args, 'list-buckets', 's3://'], { env: cli.env });
    expect(quiet.stderr).not.toContain('NodeVersionSupportWarning');
    const verbose = await runCliOk([...cli.args, '-v', 'list-buckets', 's3://'], { env: cli.env });
    expect(verbose.stderr).toContain('NodeVersionSupportWarning');
  });
});
