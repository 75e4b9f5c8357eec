/**
 * Special files are not objects. A FIFO without a writer used to block a libuv thread forever in
 * open(); a device streamed endlessly; /proc and /sys files, whose size stat reports as 0 (or as a
 * made-up 4096), read as 0 bytes. Every path that opens a user-named file for reading — get and
 * its variants, getMany, getStream, getInto, copy and the cross-filesystem rename fallback, upload's
 * sources, datasets, directIoInfo — now opens without blocking and refuses anything that is not a
 * regular file with ERR_NOT_A_FILE before reading; pseudo files are read to their end.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import { type Server, createServer } from 'net';
import * as path from 'path';

import * as s3dlio from '../../lib';
import { Dataset } from '../../lib';
import * as native from '../../lib/native';
import { runNodeJson, runNodeScript } from '../helpers/child';
import { describeWithMount, withPrivateMount } from '../helpers/mount';
import { rejectionOf, SCHEMES, tempFilesIn } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-safety-special-');
let fifo = '';
let socketPath = '';
let server: Server;

beforeAll(async () => {
  fifo = `${tmp.path}/pipe`;
  execFileSync('mkfifo', [fifo]);
  socketPath = `${tmp.path}/sock`;
  server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The special files by label (their paths exist once beforeAll ran). */
const SPECIALS = ['a FIFO without a writer', '/dev/zero', '/dev/null', 'a UNIX socket'];
const pathOf = (label: string): string =>
  label === 'a FIFO without a writer' ? fifo : label === 'a UNIX socket' ? socketPath : label;

function expectNotAFile(error: unknown, uri: string): void {
  expect(error).toMatchObject({ name: 'S3dlioError', code: 'ERR_NOT_A_FILE', uri });
}

describe.each(SCHEMES)('%s:// reads refuse special files with ERR_NOT_A_FILE', (scheme) => {
  const store = (): s3dlio.ObjectStore => s3dlio.storeFor(`${scheme}:///`);
  const uriOf = (file: string): string => `${scheme}://${file}`;

  test.each(SPECIALS)('get, getRange, getInto, getStream of %s', async (label) => {
    const uri = uriOf(pathOf(label));
    expectNotAFile(await rejectionOf(store().get(uri)), uri);
    expectNotAFile(await rejectionOf(store().getRange(uri, 0, 10)), uri);
    expectNotAFile(await rejectionOf(store().getInto(uri, new Uint8Array(16))), uri);
    expectNotAFile(await rejectionOf(store().get(uri, { rangeThreshold: 1, chunkSize: 4096 })), uri);
    const streamed = await rejectionOf(
      (async () => {
        for await (const chunk of store().getStream(uri)) void chunk;
      })(),
    );
    expect(streamed).toMatchObject({ code: 'ERR_NOT_A_FILE' });
  });

  test('getMany reports each special file as an ERR_NOT_A_FILE item and reads the regular ones', async () => {
    const regular = `${tmp.path}/${scheme}-regular.bin`;
    writeFileSync(regular, Buffer.alloc(8192, 3));
    const uris = [regular, ...SPECIALS.map(pathOf)].map(uriOf);
    const error = await rejectionOf(store().getMany(uris, { concurrency: 8 }));
    expect(error).toMatchObject({ code: 'ERR_BATCH_FAILED', succeeded: 1 });
    for (const [index, item] of error.errors.entries()) expectNotAFile(item, uris[index + 1]);
  });

  test('a dataset over a FIFO fails its item with ERR_NOT_A_FILE instead of hanging', async () => {
    const dataset = await Dataset.fromUris([uriOf(fifo)], { store: store() });
    expect(await rejectionOf(dataset.get(0))).toMatchObject({ code: 'ERR_NOT_A_FILE' });
  });
});

describe('copies and transfers refuse special files too', () => {
  test.each(SPECIALS)('copy of %s: ERR_NOT_A_FILE, no object, no temporary file', async (label) => {
    const file = pathOf(label);
    const dir = `${tmp.path}/copy-${path.basename(file)}`;
    mkdirSync(dir, { recursive: true });
    const error = await rejectionOf(s3dlio.copy(`file://${file}`, `file://${dir}/copy`));
    expectNotAFile(error, `file://${file}`);
    expect(existsSync(`${dir}/copy`)).toBe(false);
    expect(tempFilesIn(dir)).toEqual([]);
  });

  test('rename across filesystems (the copy fallback) of a FIFO: ERR_NOT_A_FILE, the FIFO stays', async () => {
    const shmDir = `/dev/shm/s3dlio-special-${process.pid}`;
    mkdirSync(shmDir, { recursive: true });
    const shmFifo = `${shmDir}/pipe`;
    execFileSync('mkfifo', [shmFifo]);
    try {
      const error = await rejectionOf(s3dlio.rename(`file://${shmFifo}`, `file://${tmp.path}/renamed`));
      expect(error).toMatchObject({ code: 'ERR_NOT_A_FILE' });
      expect(existsSync(shmFifo)).toBe(true);
      expect(existsSync(`${tmp.path}/renamed`)).toBe(false);
      expect(tempFilesIn(tmp.path)).toEqual([]);
    } finally {
      execFileSync('rm', ['-rf', shmDir]);
    }
  });

  test('upload: sources that resolve to a FIFO, a device or a socket fail with ERR_NOT_A_FILE; the others go up', async () => {
    // The links lead out of the tree: followSymlinks lets upload reach what they point to.
    const source = `${tmp.path}/upload-src`;
    mkdirSync(source);
    writeFileSync(`${source}/regular.txt`, 'regular');
    symlinkSync(fifo, `${source}/to-fifo`);
    symlinkSync('/dev/zero', `${source}/to-zero`);
    // A socket cannot be opened at all (ENXIO): still named for what it is.
    symlinkSync(socketPath, `${source}/to-socket`);
    const dest = `${tmp.path}/upload-dst`;
    const result = await s3dlio.upload([`${source}/**`], `file://${dest}/`, {
      continueOnError: true,
      followSymlinks: true,
    });
    expect(result.objects).toBe(1);
    expect(readFileSync(`${dest}/regular.txt`, 'utf8')).toBe('regular');
    expect(result.failed.map((f) => [f.uri, f.error.code]).sort()).toEqual([
      [`file://${dest}/to-fifo`, 'ERR_NOT_A_FILE'],
      [`file://${dest}/to-socket`, 'ERR_NOT_A_FILE'],
      [`file://${dest}/to-zero`, 'ERR_NOT_A_FILE'],
    ]);
    const socketFailure = result.failed.find((f) => f.uri.endsWith('/to-socket'));
    expect(socketFailure?.error.message).toMatch(/to-socket is not a regular file/);
    expect(existsSync(`${dest}/to-fifo`)).toBe(false);
    expect(existsSync(`${dest}/to-socket`)).toBe(false);
    expect(existsSync(`${dest}/to-zero`)).toBe(false);
    expect(tempFilesIn(dest)).toEqual([]);
  });

  test('directIoInfo of a FIFO: ERR_NOT_A_FILE instead of a blocked open', async () => {
    expect(await rejectionOf(s3dlio.directIoInfo(`direct://${fifo}`))).toMatchObject({ code: 'ERR_NOT_A_FILE' });
  });
});

test('a process that tried 8 gets of FIFOs at once exits by itself', async () => {
  // Before: each get blocked a thread-pool thread in open(); the pool (4 threads) never freed up
  // and the process never exited. The child is killed after a minute only to report a hang.
  const fifos = Array.from({ length: 8 }, (_, i) => `${tmp.path}/child-pipe-${i}`);
  for (const file of fifos) execFileSync('mkfifo', [file]);
  const result = await runNodeScript(
    `const s3dlio = require(LIB);
     (async () => {
       const codes = await Promise.all(ARGS.fifos.map((file, i) =>
         s3dlio.get((i % 2 ? 'direct://' : 'file://') + file).then(() => 'resolved', (e) => e.code)));
       console.log('RESULT ' + JSON.stringify(codes));
     })();`,
    { fifos },
    [],
    { killAfterMs: 60_000 },
  );
  expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
  expect(result.stdout).toContain(`RESULT ${JSON.stringify(Array(8).fill('ERR_NOT_A_FILE'))}`);
});

describe('pseudo files are read to their end, never as the 0 bytes stat reports', () => {
  const sysFiles = ['/sys/kernel/mm/transparent_hugepage/enabled', '/sys/devices/system/cpu/online'].filter((f) =>
    existsSync(f),
  );

  test('/proc/version and /sys files: get equals fs.readFileSync', async () => {
    expect(sysFiles.length).toBeGreaterThan(0);
    for (const file of ['/proc/version', ...sysFiles]) {
      const expected = readFileSync(file);
      expect(expected.length).toBeGreaterThan(0);
      expect(Buffer.from(await s3dlio.get(`file://${file}`)).toString()).toBe(expected.toString());
    }
  });

  test('/proc/self/status: the same fields as fs.readFileSync (its values move between reads)', async () => {
    const fields = (text: string): string[] => text.split('\n').map((line) => line.split(':')[0]);
    const ours = Buffer.from(await s3dlio.get('file:///proc/self/status')).toString();
    const node = readFileSync('/proc/self/status', 'utf8');
    expect(fields(ours)).toEqual(fields(node));
    expect(ours.match(/^Pid:.*$/m)?.[0]).toBe(`Pid:\t${process.pid}`);
  });

  test('ranges, getMany, getInto, getStream and copy cut the real content', async () => {
    const version = readFileSync('/proc/version');
    const uri = 'file:///proc/version';
    expect(Buffer.from(await s3dlio.getRange(uri, 6, 7)).toString()).toBe(version.subarray(6, 13).toString());
    expect((await s3dlio.getRange(uri, version.length)).byteLength).toBe(0);
    expect(await rejectionOf(s3dlio.getRange(uri, version.length + 1, 1))).toMatchObject({
      code: 'ERR_RANGE_NOT_SATISFIABLE',
    });
    const many = await s3dlio.getMany([uri, ...sysFiles.map((f) => `file://${f}`)]);
    expect(Buffer.from(many[0]).equals(version)).toBe(true);
    sysFiles.forEach((file, i) => expect(Buffer.from(many[i + 1]).equals(readFileSync(file))).toBe(true));
    const target = new Uint8Array(4096);
    expect(await s3dlio.getInto(uri, target)).toBe(version.length);
    expect(Buffer.from(target.subarray(0, version.length)).equals(version)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of s3dlio.getStream(uri, { chunkSize: 16 })) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(version)).toBe(true);
    await s3dlio.copy(uri, `file://${tmp.path}/version-copy`);
    expect(readFileSync(`${tmp.path}/version-copy`).equals(version)).toBe(true);
  });

  test('direct://: a pseudo file is refused as not O_DIRECT-capable, or read whole with the fallback', async () => {
    const version = readFileSync('/proc/version');
    const refused = await s3dlio.get('direct:///proc/version').then(
      (bytes) => Buffer.from(bytes),
      (error: { code: string }) => error.code,
    );
    if (typeof refused === 'string') expect(refused).toBe('ERR_DIRECT_IO_UNSUPPORTED');
    else expect(refused.equals(version)).toBe(true);
    const fallback = s3dlio.storeFor('direct:///', { allowBufferedFallback: true });
    expect(Buffer.from(await fallback.get('direct:///proc/version')).equals(version)).toBe(true);
  });

  test('content beyond maxLength is ERR_OBJECT_TOO_LARGE, not a truncated read', async () => {
    const error = await rejectionOf(native.readFile('/proc/version', { maxLength: 10 }));
    expect(error).toMatchObject({ code: 'ERR_OBJECT_TOO_LARGE' });
  });

  test('empty and ordinary regular files read as before', async () => {
    writeFileSync(`${tmp.path}/empty`, '');
    writeFileSync(`${tmp.path}/text`, 'some text');
    for (const scheme of SCHEMES) {
      expect((await s3dlio.get(`${scheme}://${tmp.path}/empty`)).byteLength).toBe(0);
      expect(Buffer.from(await s3dlio.get(`${scheme}://${tmp.path}/text`)).toString()).toBe('some text');
    }
  });
});

const TRACEFS = { type: 'tracefs' };
describeWithMount(TRACEFS, 'the tracefs tests of test/safety/12.special-files')('tracefs (in a private mount)', () => {
  test('trace_pipe, whose reads block, is ERR_NOT_A_FILE at once; its README reads whole', async () => {
    const dir = `${tmp.path}/tracing`;
    mkdirSync(dir);
    const script = `const s3dlio = require(LIB);
      const fs = require('fs');
      (async () => {
        const code = (p) => p.then(() => 'resolved', (e) => e.code);
        const uri = 'file://' + ARGS.dir;
        const readme = Buffer.from(await s3dlio.get(uri + '/README')).equals(fs.readFileSync(ARGS.dir + '/README'));
        const pipe = await code(s3dlio.get(uri + '/trace_pipe'));
        const copied = await code(s3dlio.copy(uri + '/trace_pipe', 'file://' + ARGS.out));
        console.log('RESULT ' + JSON.stringify({ readme, pipe, copied }));
      })();`;
    const result = await runNodeJson(script, { dir, out: `${tmp.path}/trace-copy` }, [], {
      ...withPrivateMount(TRACEFS, dir),
      killAfterMs: 60_000,
    });
    expect(result).toEqual({ readme: true, pipe: 'ERR_NOT_A_FILE', copied: 'ERR_NOT_A_FILE' });
    expect(existsSync(`${tmp.path}/trace-copy`)).toBe(false);
  });
});
