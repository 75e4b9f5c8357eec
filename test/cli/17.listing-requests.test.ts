/**
 * `ls -l`, `du`, `cp -r` and `sync` take sizes, times and etags from the listing pages: on 50
 * objects the op-log of each holds LIST requests and not one STAT (HEAD), on a local directory
 * and on every cloud server.
 */
import * as path from 'path';

import { type ObjectStore, readOpLog, storeFor } from '../../lib';
import { cloudTargets, newBucketName } from '../cloud/targets';
import { useTempDir } from '../helpers/temp';
import { cloudClis, jsonLines, runCliOk } from './cli';

const tmp = useTempDir('s3dlio-cli-listing-requests-');
const OBJECTS = 50;

/** Requests of each op in an op-log. */
async function opsIn(log: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for await (const entry of readOpLog(log)) counts[entry.op] = (counts[entry.op] ?? 0) + 1;
  return counts;
}

interface Place {
  name: string;
  args: string[];
  env: Record<string, string>;
  store(): ObjectStore;
  /** A fresh prefix (bucket or directory) for this test, ending with `/`. */
  prefix(): Promise<string>;
}

const places: Place[] = [
  {
    name: 'file://',
    args: [],
    env: {},
    store: () => storeFor('file:///'),
    prefix: async () => `file://${tmp.path}/${newBucketName('lr')}/`,
  },
  ...cloudClis().map((cli): Place => ({
    name: `${cli.scheme}://`,
    args: cli.args,
    env: cli.env,
    store: () =>
      cloudTargets()
        .find((target) => target.scheme === cli.scheme)
        ?.store() as ObjectStore,
    prefix: async () => {
      const bucket = cli.bucketUri(newBucketName('lr'));
      await cloudTargets()
        .find((target) => target.scheme === cli.scheme)
        ?.store()
        .createBucket(bucket);
      return bucket;
    },
  })),
];

describe.each(places.map((place) => [place.name, place] as const))('%s', (name, place) => {
  let base = '';
  const src = (): string => `${base}src/`;
  const keys = Array.from({ length: OBJECTS }, (_, index) => `d${index % 3}/ö ${String(index).padStart(3, '0')}.bin`);
  let logs = 0;
  /** Runs the CLI with an op-log; resolves to its stdout and the requests it made by op. */
  const logged = async (args: string[]): Promise<{ stdout: string; ops: Record<string, number> }> => {
    const log = path.join(tmp.path, `${name.replace('://', '')}-${++logs}.tsv`);
    const { stdout } = await runCliOk([...place.args, '--op-log', log, ...args], { env: place.env });
    return { stdout, ops: await opsIn(log) };
  };

  beforeAll(async () => {
    base = await place.prefix();
    await place.store().putMany(keys.map((key, index) => ({ uri: `${src()}${key}`, data: 'x'.repeat(index) })));
  });
  afterAll(() => place.store().deletePrefix(base));

  test('ls -l: one LIST per page, no STAT; the details are stat’s', async () => {
    const { stdout, ops } = await logged(['--json', 'ls', '-l', '-r', src()]);
    expect(ops.STAT).toBeUndefined();
    expect(ops.LIST).toBeGreaterThanOrEqual(1);
    const records = jsonLines(stdout);
    expect(records).toHaveLength(OBJECTS);
    const [first] = records;
    const stat = await place.store().stat(first.uri as string);
    expect(first).toEqual({
      type: 'object',
      uri: stat.uri,
      size: stat.size,
      lastModified: stat.lastModified.toISOString(),
      ...(stat.etag !== undefined && { etag: stat.etag }),
    });
    // Directories of a non-recursive listing: still LIST only.
    const top = await logged(['ls', '-l', src()]);
    expect(top.ops.STAT).toBeUndefined();
    const lines = top.stdout.trimEnd().split('\n').sort(); // a local listing is in directory order
    expect(lines.map((line) => line.trim().split(/ +/))).toEqual(
      ['d0', 'd1', 'd2'].map((dir) => ['DIR', '-', '-', `${src()}${dir}/`]),
    );
  });

  test('du: the total from the listing, no STAT', async () => {
    const { stdout, ops } = await logged(['du', src()]);
    expect(ops).toEqual({ LIST: expect.any(Number) });
    const bytes = (OBJECTS * (OBJECTS - 1)) / 2;
    expect(stdout).toBe(`${OBJECTS} objects, ${bytes} B  ${src()}\n`);
  });

  test('cp -r and an unchanged sync: no STAT; the sync copies nothing', async () => {
    const copied = await logged(['cp', '-r', src(), `${base}copy/`]);
    expect(copied.ops.STAT).toBeUndefined();
    const first = await logged(['sync', src(), `${base}dst/`]);
    expect(first.ops.STAT).toBeUndefined();
    for (const mode of [[], ['--size-only']]) {
      const again = await logged(['--json', '-v', 'sync', ...mode, src(), `${base}dst/`]);
      expect(again.ops).toEqual({ LIST: expect.any(Number) });
      expect(jsonLines(again.stdout).filter((record) => record.type === 'unchanged')).toHaveLength(OBJECTS);
    }
  });
});
