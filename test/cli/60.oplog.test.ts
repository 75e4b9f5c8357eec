/**
 * The op-log from the command line: `--op-log` on commands (file:// and a cloud server), `oplog
 * stats` (text and --json), and `replay` of a recorded log to another place, with --op and --remap.
 */
import { existsSync, readdirSync, statSync } from 'fs';
import * as path from 'path';

import { readOpLog } from '../../lib';
import { cloudTargets, newBucketName } from '../cloud/targets';
import { useTempDir } from '../helpers/temp';
import { cloudClis, jsonLines, runCli } from './cli';

const tmp = useTempDir('s3dlio-cli-oplog-');

/** Names and sizes of the files below `dir`. */
const filesIn = (dir: string): Record<string, number> =>
  Object.fromEntries(readdirSync(dir).map((name) => [name, statSync(path.join(dir, name)).size]));

test('--op-log on put and get, oplog stats, and replay elsewhere', async () => {
  const log = path.join(tmp.path, 'put.tsv.zst');
  const source = tmp.uri('file', 'src/');
  const put = await runCli(['--op-log', log, 'put', source, '-n', '5', '-s', '4096', '-c']);
  expect(put.code).toBe(0);
  expect(existsSync(log)).toBe(true);
  const get = await runCli(['--op-log', path.join(tmp.path, 'get.tsv'), '-v', 'get', source, '-r']);
  expect(get.code).toBe(0);
  expect(get.stderr).toMatch(/op-log .*get\.tsv: \d+ operations/);

  const stats = await runCli(['oplog', 'stats', log]);
  expect(stats.code).toBe(0);
  expect(stats.stdout).toMatch(/^\d+ operations, /);
  expect(stats.stdout).toMatch(/^PUT\s+6\s/m); // the directory (-c) and 5 objects
  const [record] = jsonLines((await runCli(['--json', 'oplog', 'stats', log])).stdout);
  expect(record).toMatchObject({ type: 'oplog-stats', byOp: { PUT: { count: 6, bytes: 5 * 4096, errors: 0 } } });
  const [gets] = jsonLines((await runCli(['--json', 'oplog', 'stats', path.join(tmp.path, 'get.tsv')])).stdout);
  expect(gets).toMatchObject({ byOp: { GET: { count: 5, bytes: 5 * 4096 } } });

  const target = tmp.uri('file', 'replayed/');
  const replayed = await runCli([
    '--json',
    'replay',
    log,
    '--target',
    target,
    '--speed',
    '0',
    '--op',
    'PUT',
    '--remap',
    `${path.join(tmp.path, 'src')}/=${target}`,
  ]);
  expect(replayed.code).toBe(0);
  const [report] = jsonLines(replayed.stdout);
  expect(report).toMatchObject({
    type: 'replay',
    operations: 5,
    errors: 0,
    bytes: 5 * 4096,
    skipped: { 'bucket operations': 1 },
  });
  expect(Object.values(filesIn(path.join(tmp.path, 'replayed')))).toEqual([4096, 4096, 4096, 4096, 4096]);
  expect(Object.keys(filesIn(path.join(tmp.path, 'replayed'))).sort()).toEqual(
    Object.keys(filesIn(path.join(tmp.path, 'src'))).sort(),
  );
});

test('a bad log is exit 1 with the line; a missing one too', async () => {
  const missing = await runCli(['oplog', 'stats', path.join(tmp.path, 'absent.tsv')]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/ERR_NOT_FOUND/);
});

describe.each(cloudClis().map((cli) => [cli.scheme, cli] as const))('%s://', (_scheme, cli) => {
  test('--op-log records the endpoint and bucket/key of every request', async () => {
    const store = cloudTargets()
      .find((t) => t.scheme === cli.scheme)
      ?.store();
    const bucketName = newBucketName('co');
    const bucket = cli.bucketUri(bucketName);
    await store?.createBucket(bucket);
    const log = path.join(tmp.path, `${cli.scheme}.tsv`);
    const put = await runCli([...cli.args, '--op-log', log, 'put', bucket, '-n', '3', '-s', '1024'], { env: cli.env });
    expect(put.code).toBe(0);
    const [stats] = jsonLines((await runCli(['--json', 'oplog', 'stats', log])).stdout);
    expect(stats).toMatchObject({ byOp: { PUT: { count: 3, bytes: 3 * 1024 } } });
    for await (const entry of readOpLog(log)) {
      expect(entry.file.startsWith(`${bucketName}/`)).toBe(true);
      expect(entry.endpoint).toMatch(/^https?:\/\/(127\.0\.0\.1|localhost)/);
    }
    await store?.deleteBucket(bucket, { force: true });
  });
});
