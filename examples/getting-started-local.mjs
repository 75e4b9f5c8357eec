// file://: buffered I/O through the page cache, on any local filesystem.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deletePrefix, exists, get, getRange, list, put, stat } from 's3dlio';

const dir = await mkdtemp(join(process.cwd(), 's3dlio-local-')); // URIs are absolute: file:///…
const prefix = `file://${dir}/dataset/`;

await put(`${prefix}train/a.bin`, new Uint8Array(4096).fill(1)); // atomic: temp file + rename
await put(`${prefix}train/b.bin`, 'text is stored as UTF-8');
console.log(await list(prefix, { recursive: true }));            // full URIs, sorted
console.log((await stat(`${prefix}train/a.bin`)).size);          // 4096
console.log((await get(`${prefix}train/b.bin`)).length);         // 23
console.log((await getRange(`${prefix}train/a.bin`, 1024, 16)).length); // 16
console.log(await deletePrefix(prefix), await exists(`${prefix}train/a.bin`)); // 2 false
await rm(dir, { recursive: true });
