/**
 * `npm start`: an end-to-end demo on a local store in a temporary directory. Writes a small
 * dataset, lists it, reads it back through file:// and direct://, checks every byte, prints a
 * throughput table beside baselines measured in the same run (`fs.readFile`; a buffered read from
 * disk for direct://) and cleans up. `npm start -- /some/dir` runs it below another directory.
 *
 * direct:// (O_DIRECT) never uses the page cache, so it is compared with cold reads: the page
 * cache is dropped before each of them (`/proc/sys/vm/drop_caches` as root, else per file with
 * posix_fadvise(DONTNEED) through a file:// store's `pageCache: 'dontneed'`), and the demo says
 * which it did.
 */
import { randomFillSync } from 'crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'fs';
import { readFile } from 'fs/promises';
import { tmpdir } from 'os';
import * as path from 'path';

import { deletePrefix, directIoInfo, get, getMany, list, putMany, storeFor } from './index';

const SMALL_COUNT = 256;
const SMALL_SIZE = 256 * 1024;
const LARGE_SIZE = 128 * 1024 * 1024;
const MiB = 1024 * 1024;

interface Row {
  step: string;
  /** `cold` (page cache dropped first), `warm` (just read), `disk` (O_DIRECT: no page cache), or empty. */
  cache: string;
  objects: number;
  bytes: number;
  seconds: number;
}

async function timed(
  step: string,
  cache: string,
  objects: number,
  bytes: number,
  work: () => Promise<unknown>,
): Promise<Row> {
  const start = process.hrtime.bigint();
  await work();
  return { step, cache, objects, bytes, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function printTable(rows: Row[]): void {
  const header = ['step', 'cache', 'objects', 'MiB', 'seconds', 'MiB/s'];
  const lines = rows.map((row) => [
    row.step,
    row.cache,
    String(row.objects),
    (row.bytes / MiB).toFixed(1),
    row.seconds.toFixed(3),
    (row.bytes / MiB / row.seconds).toFixed(0),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column].length)));
  const format = (cells: string[]): string =>
    cells.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  console.log(format(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const line of lines) console.log(format(line));
}

/** How the demo makes a read cold, decided once. */
interface ColdReads {
  method: 'drop_caches' | 'fadvise' | 'none';
  /** What the demo tells the reader about it. */
  note: string;
}

function canDropCaches(): string | undefined {
  if (process.platform !== 'linux') return `${process.platform} has no /proc/sys/vm/drop_caches`;
  if (process.getuid?.() !== 0) return 'not root: /proc/sys/vm/drop_caches needs root';
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '1');
    return undefined;
  } catch (error) {
    return `root, but writing /proc/sys/vm/drop_caches failed (${(error as Error).message})`;
  }
}

function coldReadsHere(directSupported: boolean, directReason: string | undefined): ColdReads {
  if (!directSupported) {
    return {
      method: 'none',
      note:
        `Cold reads: none here. This filesystem cannot do O_DIRECT (${directReason}), so direct:// ` +
        'falls back to buffered reads and every "cold" row may come from memory: run ' +
        '`npm start -- /a/dir/on/disk` to see what direct:// does.',
    };
  }
  const refused = canDropCaches();
  if (refused === undefined) {
    return {
      method: 'drop_caches',
      note: 'Cold reads: before each, the files are fsynced and the page cache dropped (echo 1 > /proc/sys/vm/drop_caches).',
    };
  }
  return {
    method: 'fadvise',
    note:
      `Cold reads: ${refused}, so before each, every file is fsynced and its pages dropped with ` +
      "posix_fadvise(DONTNEED) (a file:// store with { pageCache: 'dontneed' }). That is advice to the " +
      'kernel: pages another process holds may stay cached.',
  };
}

/** fsync: dirty pages must reach the disk before the page cache can drop them. */
function flush(paths: string[]): void {
  for (const file of paths) {
    const fd = openSync(file, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

async function dropPageCache(cold: ColdReads, paths: string[]): Promise<void> {
  if (cold.method === 'none') return;
  flush(paths);
  if (cold.method === 'drop_caches') writeFileSync('/proc/sys/vm/drop_caches', '1');
  else await storeFor('file:///', { pageCache: 'dontneed' }).getMany(paths.map((file) => `file://${file}`));
}

/** The baseline: `fs.promises.readFile`, `concurrency` files at a time, in input order. */
async function readFiles(paths: string[], concurrency: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = new Array<Uint8Array>(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const index = next++;
      out[index] = await readFile(paths[index]);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

async function main(): Promise<void> {
  const parent = process.argv[2] ?? tmpdir();
  const root = mkdtempSync(path.join(parent, 's3dlio-demo-'));
  try {
    const prefix = `${root}/dataset/`;
    const info = await directIoInfo(`direct://${root}`);
    console.log(`s3dlio demo in ${root}`);
    console.log(
      info.supported
        ? `O_DIRECT: supported (memory alignment ${info.memoryAlignment}, offset alignment ${info.offsetAlignment})`
        : `O_DIRECT: not supported here (${info.reason}); direct:// falls back to buffered I/O for this demo`,
    );
    // Only where the filesystem cannot do O_DIRECT does the demo opt in to the (warned) fallback.
    const direct = storeFor('direct:///', { allowBufferedFallback: !info.supported });
    const cold = coldReadsHere(info.supported, info.reason);
    const coldLabel = cold.method === 'none' ? 'cold?' : 'cold';
    const directLabel = info.supported ? 'O_DIRECT' : 'buffered';

    const items = Array.from({ length: SMALL_COUNT }, (_, index) => ({
      uri: `file://${prefix}shard-${String(index).padStart(4, '0')}.bin`,
      data: randomFillSync(new Uint8Array(SMALL_SIZE)),
    }));
    const large = { uri: `file://${prefix}large.bin`, data: randomFillSync(new Uint8Array(LARGE_SIZE)) };
    const smallBytes = SMALL_COUNT * SMALL_SIZE;
    const rows: Row[] = [];

    rows.push(
      await timed('putMany file:// (small objects)', '', SMALL_COUNT, smallBytes, () =>
        putMany(items, { concurrency: 16 }),
      ),
    );
    rows.push(
      await timed('put direct:// (large object)', '', 1, LARGE_SIZE, () =>
        direct.put(large.uri.replace('file://', 'direct://'), large.data),
      ),
    );

    const listed = await list(`file://${prefix}`, { pattern: /^shard-\d+\.bin$/ });
    if (listed.length !== SMALL_COUNT) throw new Error(`listed ${listed.length} shards, expected ${SMALL_COUNT}`);
    console.log(`list: ${listed.length} shards + large.bin under file://${prefix}`);
    console.log(cold.note);

    const smallPaths = listed.map((uri) => uri.slice('file://'.length));
    const largePath = large.uri.slice('file://'.length);
    const directUris = listed.map((uri) => uri.replace('file://', 'direct://'));
    // Each read is checked byte for byte, then let go of (holding every result would be 1 GiB).
    const read = async (what: string, cache: string, work: () => Promise<Uint8Array[] | Uint8Array>): Promise<void> => {
      const start = process.hrtime.bigint();
      const result = await work();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const many = Array.isArray(result);
      const bad = many
        ? items.filter((item, index) => !sameBytes(item.data, result[index])).length
        : Number(!sameBytes(large.data, result));
      if (bad > 0) throw new Error(`read-back mismatch: ${what} (${bad} objects differ)`);
      rows.push({
        step: what,
        cache,
        objects: many ? SMALL_COUNT : 1,
        bytes: many ? smallBytes : LARGE_SIZE,
        seconds,
      });
    };

    // Cold: from the disk. direct:// always reads the disk (O_DIRECT bypasses the page cache).
    await dropPageCache(cold, smallPaths);
    await read('fs.readFile, 16 at a time (baseline)', coldLabel, () => readFiles(smallPaths, 16));
    await dropPageCache(cold, smallPaths);
    await read('getMany file://', coldLabel, () => getMany(listed, { concurrency: 16 }));
    await read('getMany direct://', directLabel, () => direct.getMany(directUris, { concurrency: 16 }));
    await dropPageCache(cold, [largePath]);
    await read('fs.readFile (baseline, large)', coldLabel, () => readFile(largePath));
    await dropPageCache(cold, [largePath]);
    await read('get file:// (large)', coldLabel, () => get(large.uri));
    await read('get direct:// (large)', directLabel, () => direct.get(large.uri.replace('file://', 'direct://')));
    // Warm: the file:// reads above left the files in the page cache.
    await read('fs.readFile, 16 at a time (baseline)', 'warm', () => readFiles(smallPaths, 16));
    await read('getMany file://', 'warm', () => getMany(listed, { concurrency: 16 }));
    await read('fs.readFile (baseline, large)', 'warm', () => readFile(largePath));
    await read('get file:// (large)', 'warm', () => get(large.uri));

    console.log('verify: every byte read back (fs.readFile, file://, direct://) matches what was written\n');
    printTable(rows);
    console.log(
      [
        '',
        'cache: cold = from the disk (page cache dropped first); warm = from the page cache (read just before);',
        'O_DIRECT = direct://, which never uses the page cache: it reads the disk every time.',
        'Compare direct:// with the cold rows: that is its use (datasets larger than memory, or read once per',
        'epoch), where it skips the copy through the page cache and leaves that memory to the rest of the',
        'machine. Data that fits in memory and is read again is faster warm, through file://.',
        'Each figure is one run: expect some spread between runs (`npm run bench:local` takes medians).',
      ].join('\n'),
    );

    // The demo made this directory itself, wherever it is (/dev/shm counts as a protected path).
    const deleted = await deletePrefix(`file://${prefix}`, { allowProtectedPaths: true });
    console.log(`\ncleanup: deleted ${deleted} objects`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
