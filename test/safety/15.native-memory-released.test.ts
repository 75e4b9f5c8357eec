/**
 * Memory the addon hands to JS (read results, generateData, allocAligned) is freed once JS lets
 * go of it: the ArrayBuffer's finalizer drops the allocation from the addon's registry
 * (native/job_memory.h), and with it the memory. Measured in a fresh child process started with
 * --expose-gc: many large results in turn, each dropped and collected, must not add up in RSS.
 */
import { writeFileSync } from 'fs';
import * as path from 'path';

import { runNodeJson } from '../helpers/child';
import { testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

jest.setTimeout(120_000);

const tmp = useTempDir('s3dlio-safety-release-');
const MiB = 1024 * 1024;
const SIZE = 32 * MiB;
const ROUNDS = 16; // 512 MiB in all if nothing were freed

interface Growth {
  label: string;
  /** RSS after the rounds minus RSS before them, in MiB. */
  grewMiB: number;
}

const CHILD = `
const s3dlio = require(LIB);
const { file, size, rounds } = ARGS;
const settle = () => new Promise((resolve) => setImmediate(resolve));
async function collect() {
  for (let i = 0; i < 3; i++) { global.gc(); await settle(); }
}
async function measure(label, make) {
  await collect();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < rounds; i++) {
    let bytes = await make();
    if (bytes.byteLength !== size) throw new Error(label + ': ' + bytes.byteLength + ' bytes');
    bytes = undefined;
    await collect();
  }
  return { label, grewMiB: Math.round((process.memoryUsage().rss - before) / 1048576) };
}
(async () => {
  const results = [];
  results.push(await measure('file:// get', () => s3dlio.get('file://' + file)));
  results.push(await measure('direct:// get', () => s3dlio.get('direct://' + file)));
  results.push(await measure('generateData', () => s3dlio.generateData(size, { seed: 1 })));
  results.push(await measure('allocAligned', async () => s3dlio.allocAligned(size, 4096)));
  console.log('RESULT ' + JSON.stringify(results));
})().catch((error) => { console.error(error); process.exit(1); });
`;

let growth: Growth[] = [];

beforeAll(async () => {
  const file = path.join(tmp.path, 'object');
  writeFileSync(file, testBytes(SIZE, 15));
  growth = await runNodeJson<Growth[]>(CHILD, { file, size: SIZE, rounds: ROUNDS }, ['--expose-gc']);
});

test.each(['file:// get', 'direct:// get', 'generateData', 'allocAligned'])(
  `%s: ${ROUNDS} results of ${SIZE / MiB} MiB, each dropped and collected, leave RSS within 4 results of where it was`,
  (label) => {
    const measured = growth.find((entry) => entry.label === label);
    expect(measured).toEqual({ label, grewMiB: expect.any(Number) });
    expect(measured?.grewMiB).toBeLessThan((4 * SIZE) / MiB);
  },
);
