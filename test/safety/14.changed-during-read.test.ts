/**
 * A file that shrinks while it is being read. A read learns the size first (fstat), allocates that
 * much, then reads: if the file is truncated in between, the bytes past the new end never arrive,
 * and resolving at the old length would hand out memory nobody wrote. Every read path (get,
 * getRange, getMany; file:// and direct://) must reject with ERR_CHANGED_DURING_READ instead.
 *
 * Deterministic, not a timing gamble: a child process runs with the addon's test-only hook
 * S3DLIO_TEST_READ_PAUSE_DIR (native/test_hooks.h), which pauses the read after fstat until the
 * script, having truncated the file, tells it to go on.
 */
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';

import { runNodeJson } from '../helpers/child';
import { testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-safety-shrink-');

const SIZE = 1024 * 1024 + 100; // not a multiple of any direct I/O alignment
const SHRUNK_TO = 5000;
const RANGE = { offset: 4096, length: 65536 };

type Call = 'get' | 'getRange' | 'getMany';

interface Case {
  label: string;
  scheme: 'file' | 'direct';
  call: Call;
  /** Truncate the file while the read is paused (false: a control, the read must succeed). */
  shrink: boolean;
}

interface Outcome {
  label: string;
  /** The read reached the pause (the hook is active and the test really changed the file mid-read). */
  paused: boolean;
  ok: boolean;
  length?: number;
  /** The bytes matched the file's original content (controls only). */
  sameBytes?: boolean;
  code?: string;
  uri?: string;
  itemCodes?: string[];
}

const CALLS: Call[] = ['get', 'getRange', 'getMany'];
const CASES: Case[] = (['file', 'direct'] as const).flatMap((scheme) => [
  ...CALLS.map((call) => ({ label: `${scheme}:// ${call}`, scheme, call, shrink: true })),
  { label: `${scheme}:// get, unchanged (control)`, scheme, call: 'get' as Call, shrink: false },
]);

// One child for every case, run one after the other: the hook is read once, when the addon loads.
const CHILD = `
const fs = require('fs');
const s3dlio = require(LIB);
const { dir, pauseDir, size, shrunkTo, range, cases } = ARGS;
const original = fs.readFileSync(dir + '/original');
(async () => {
  const outcomes = [];
  for (const [index, c] of cases.entries()) {
    const name = 'object-' + index;
    const file = dir + '/' + name;
    fs.writeFileSync(file, original);
    const uri = c.scheme + '://' + file;
    const paused = pauseDir + '/' + name + '.paused';
    fs.writeFileSync(pauseDir + '/' + name, '');  // asks the addon to pause this file's next read
    const read =
      c.call === 'get' ? s3dlio.get(uri)
      : c.call === 'getRange' ? s3dlio.getRange(uri, range.offset, range.length)
      : s3dlio.getMany([uri]).then((results) => results[0]);
    let settled = false;
    const result = read.then(
      (bytes) => { settled = true; return { ok: true, bytes }; },
      (error) => { settled = true; return { ok: false, error }; },
    );
    while (!settled && !fs.existsSync(paused)) await new Promise((resolve) => setTimeout(resolve, 2));
    const outcome = { label: c.label, paused: !settled };
    if (outcome.paused) {
      if (c.shrink) fs.truncateSync(file, shrunkTo);
      fs.unlinkSync(paused);
    }
    const { ok, bytes, error } = await result;
    outcome.ok = ok;
    if (ok) {
      outcome.length = bytes.byteLength;
      const expected = c.call === 'getRange' ? original.subarray(range.offset, range.offset + range.length) : original;
      outcome.sameBytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(expected);
    } else {
      outcome.code = error.code;
      outcome.uri = error.uri;
      if (Array.isArray(error.errors)) outcome.itemCodes = error.errors.map((item) => item.code);
    }
    outcomes.push(outcome);
  }
  console.log('RESULT ' + JSON.stringify(outcomes));
})().catch((error) => { console.error(error); process.exit(1); });
`;

let outcomes: Outcome[] = [];

beforeAll(async () => {
  const pauseDir = path.join(tmp.path, 'pause');
  mkdirSync(pauseDir);
  writeFileSync(path.join(tmp.path, 'original'), testBytes(SIZE, 14));
  outcomes = await runNodeJson<Outcome[]>(
    CHILD,
    { dir: tmp.path, pauseDir, size: SIZE, shrunkTo: SHRUNK_TO, range: RANGE, cases: CASES },
    [],
    { env: { S3DLIO_TEST_READ_PAUSE_DIR: pauseDir }, killAfterMs: 120_000 },
  );
});

const outcomeOf = (label: string): Outcome | undefined => outcomes.find((outcome) => outcome.label === label);

test.each(CASES.filter((c) => c.shrink).map((c) => [c.label, c] as const))(
  '%s: truncated after fstat, before the read → ERR_CHANGED_DURING_READ, no result',
  (label, c) => {
    const outcome = outcomeOf(label);
    const uri = `${c.scheme}://${path.join(tmp.path, `object-${CASES.indexOf(c)}`)}`;
    if (c.call === 'getMany') {
      expect(outcome).toMatchObject({ label, paused: true, ok: false, code: 'ERR_BATCH_FAILED' });
      expect(outcome?.itemCodes).toEqual(['ERR_CHANGED_DURING_READ']);
    } else {
      expect(outcome).toEqual({ label, paused: true, ok: false, code: 'ERR_CHANGED_DURING_READ', uri });
    }
  },
);

test.each(CASES.filter((c) => !c.shrink).map((c) => [c.label] as const))(
  '%s: a paused read of an unchanged file returns every byte',
  (label) => {
    expect(outcomeOf(label)).toEqual({ label, paused: true, ok: true, length: SIZE, sameBytes: true });
  },
);
