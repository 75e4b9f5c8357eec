/**
 * Create-only writes on local paths: whatever already has the name (a file, a symlink, even one
 * that dangles, a directory, a FIFO) is ERR_ALREADY_EXISTS and stays exactly as it was; nothing is
 * written through a link, and no temporary file is left behind. Big and small writes, put and the
 * streaming writer, with and without fsync, take the same no-replace step.
 */
import { execFileSync } from 'child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'fs';

import { storeFor } from '../../lib';
import { SCHEMES, rejectionOf, tempFilesIn, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-create-only-');

/** Names already taken, each made fresh under `dir`; `check` says it is untouched. */
const TAKEN: Array<[string, (at: string, dir: string) => () => void]> = [
  [
    'a regular file',
    (at) => {
      writeFileSync(at, 'kept');
      return () => expect(readFileSync(at, 'utf8')).toBe('kept');
    },
  ],
  [
    'a symlink to a file',
    (at, dir) => {
      writeFileSync(`${dir}/target`, 'target');
      symlinkSync(`${dir}/target`, at);
      return () => {
        expect(readlinkSync(at)).toBe(`${dir}/target`);
        expect(readFileSync(`${dir}/target`, 'utf8')).toBe('target');
      };
    },
  ],
  [
    'a dangling symlink',
    (at, dir) => {
      symlinkSync(`${dir}/nowhere`, at);
      return () => {
        expect(readlinkSync(at)).toBe(`${dir}/nowhere`);
        expect(() => lstatSync(`${dir}/nowhere`)).toThrow();
      };
    },
  ],
  [
    'a directory',
    (at) => {
      mkdirSync(at);
      return () => expect(lstatSync(at).isDirectory()).toBe(true);
    },
  ],
  [
    'a FIFO',
    (at) => {
      execFileSync('mkfifo', [at]);
      return () => expect(lstatSync(at).isFIFO()).toBe(true);
    },
  ],
];

const WAYS = [
  ['put, small', (uri: string, fsync: boolean) => storeFor(uri, { fsync }).put(uri, 'new', { overwrite: false })],
  [
    'put, larger than a chunk (through the writer)',
    (uri: string, fsync: boolean) =>
      storeFor(uri, { fsync, chunkSize: 1 << 20 }).put(uri, testBytes(3 << 20, 1), { overwrite: false }),
  ],
  [
    'createWriter in parts',
    async (uri: string, fsync: boolean) => {
      const writer = storeFor(uri, { fsync }).createWriter(uri, { overwrite: false, partSize: 1 << 20 });
      await writer.write(testBytes((2 << 20) + 5, 2));
      await writer.close();
    },
  ],
] as const;

let serial = 0;

describe.each(SCHEMES)('%s://', (scheme) => {
  describe.each(TAKEN)('the name is %s', (_label, make) => {
    test.each(WAYS)('%s: ERR_ALREADY_EXISTS, the name untouched, no temporary file', async (_way, write) => {
      for (const fsync of [false, true]) {
        const dir = `${tmp.path}/${scheme}-${++serial}`;
        mkdirSync(dir);
        const untouched = make(`${dir}/name`, dir);
        const uri = tmp.uri(scheme, `${scheme}-${serial}/name`);
        const error = await rejectionOf(write(uri, fsync));
        expect(error).toMatchObject({ code: 'ERR_ALREADY_EXISTS', uri });
        untouched();
        expect(tempFilesIn(dir)).toEqual([]);
      }
    });
  });

  test('a free name is created, with fsync too', async () => {
    for (const fsync of [false, true]) {
      const uri = tmp.uri(scheme, `${scheme}-free-${fsync}/a/b.bin`);
      await storeFor(uri, { fsync }).put(uri, 'made', { overwrite: false });
      expect(readFileSync(uri.replace(/^\w+:\/\//, ''), 'utf8')).toBe('made');
    }
  });
});
