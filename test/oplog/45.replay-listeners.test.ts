/**
 * replay() over a long paced log holds no listener per pause: a log of many operations a few
 * milliseconds apart replays, in a process of its own, without a MaxListenersExceededWarning (or
 * any other output on stderr).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

import { get, put, startOpLog, stopOpLog } from '../../lib';
import { assertDistFresh } from '../cli/cli';
import { REPO_ROOT } from '../helpers/child';
import { useTempDir } from '../helpers/temp';
import { sleep } from '../loader/synthetic';

const tmp = useTempDir('s3dlio-replay-listeners-');

test('a paced replay of 60 operations warns of no listener leak', async () => {
  assertDistFresh();
  const log = path.join(tmp.path, 'paced.tsv');
  await startOpLog(log);
  for (let i = 0; i < 30; i++) {
    await put(`file://${tmp.path}/data/item-${i}.bin`, new Uint8Array(16));
    await sleep(2); // a gap: replay waits for it
    await get(`file://${tmp.path}/data/item-${i}.bin`);
  }
  await stopOpLog();

  const script = `
    const { replay } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist', 'index.js'))});
    replay(process.argv[1], { target: process.argv[2], speed: 1, concurrency: 4 })
      .then((report) => console.log(report.operations));`;
  const result = spawnSync(process.execPath, ['-e', script, log, `file://${tmp.path}/replayed/`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect({ status: result.status, stdout: result.stdout.trim(), stderr: result.stderr }).toEqual({
    status: 0,
    stdout: '60',
    stderr: '',
  });
});
