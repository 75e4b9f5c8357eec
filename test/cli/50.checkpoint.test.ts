/**
 * `s3dlio checkpoint ls|show|rm` on checkpoints a CheckpointStore saved, on file:// and each
 * cloud test server: what is listed and shown, that rm removes one save and refuses the latest,
 * and that a bad step is a usage error.
 */
import { CheckpointStore, type ObjectStore } from '../../lib';
import { cloudTargets, newBucketName } from '../cloud/targets';
import { useTempDir } from '../helpers/temp';
import { type CloudCli, cloudClis, jsonLines, runCli } from './cli';

const tmp = useTempDir('s3dlio-cli-ckpt-');

interface Place {
  name: string;
  args: string[];
  env: Record<string, string>;
  /** The base, made ready, and the store the test saves through (the CLI reaches it on its own). */
  base: () => Promise<{ base: string; store?: ObjectStore }>;
}

const local: Place = { name: 'file://', args: [], env: {}, base: async () => ({ base: tmp.uri('file', 'ckpt') }) };
const clouds = cloudClis().map((cli: CloudCli): Place => {
  const target = cloudTargets().find((candidate) => candidate.scheme === cli.scheme);
  return {
    name: `${cli.scheme}://`,
    args: cli.args,
    env: cli.env,
    base: async () => {
      const store = target?.store() as ObjectStore;
      const bucket = cli.bucketUri(newBucketName('cc'));
      await store.createBucket(bucket);
      return { base: `${bucket}ckpt/`, store };
    },
  };
});

describe.each([local, ...clouds].map((place) => [place.name, place] as const))('%s', (_name, place) => {
  let base = '';
  const cli = (...args: string[]) => runCli([...place.args, 'checkpoint', ...args], { env: place.env });

  beforeAll(async () => {
    const ready = await place.base();
    base = ready.base;
    const checkpoints = new CheckpointStore(base, { rank: 0, worldSize: 1, store: ready.store });
    await checkpoints.save(1, 'first', { ts: '20261130-080000', framework: 'torch' });
    await checkpoints.save(2, 'second!', { ts: '20261130-080100', epoch: 4 });
  });

  test('ls: every save newest first, the latest starred; --json has the fields', async () => {
    const { code, stdout } = await cli('ls', base);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\* step 2 {2}20261130-080100 {2}complete {2}7 B {2}1\/1 ranks$/);
    expect(lines[1]).toMatch(/^ {2}step 1 {2}20261130-080000 {2}complete/);
    const records = jsonLines((await cli('ls', base, '--json')).stdout);
    expect(records[0]).toMatchObject({ type: 'checkpoint', step: 2, latest: true, bytes: 7, worldSize: 1, epoch: 4 });
    expect(records[1]).toMatchObject({ step: 1, latest: false, framework: 'torch' });
  });

  test('show: the latest by default, or a step; a step never saved fails with ERR_NOT_FOUND', async () => {
    const latest = await cli('show', base);
    expect(latest.code).toBe(0);
    expect(latest.stdout).toContain('step: 2  ts: 20261130-080100  epoch: 4');
    expect(latest.stdout).toMatch(/rank 0: shards\/ckpt-2-20261130-080100\/rank-0\.bin {2}7 B {2}crc32c:[0-9a-f]{8}/);
    expect((await cli('show', base, '1')).stdout).toContain('framework: torch');
    const missing = await cli('show', base, '9');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ERR_NOT_FOUND');
  });

  test('rm: deletes a save, refuses the latest, and a bad step is a usage error', async () => {
    const refused = await cli('rm', base, '2');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ERR_CHECKPOINT_IS_LATEST');
    expect((await cli('rm', base, '-1')).code).toBe(2);
    expect((await cli('rm', base, 'two')).code).toBe(2);
    expect((await cli('rm', base, '1')).code).toBe(0);
    const records = jsonLines((await cli('ls', base, '--json')).stdout);
    expect(records.map((record) => record.step)).toEqual([2]);
  });
});
