// direct://: the same files as file://, read and written with O_DIRECT (no page cache).
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { allocAligned, directIoInfo, get, put, storeFor } from 's3dlio';

// O_DIRECT needs a disk filesystem (ext4, xfs, …), not tmpfs: here, below the current directory.
const dir = await mkdtemp(join(process.cwd(), 's3dlio-direct-'));
const info = await directIoInfo(`direct://${dir}`);
console.log(info.supported, info.memoryAlignment); // e.g. true 512

const data = allocAligned(8 * 1024 * 1024); // aligned memory the addon owns: written with no copy
data.fill(42);
await put(`direct://${dir}/shard-0000.bin`, data);
const back = await get(`direct://${dir}/shard-0000.bin`); // lands in aligned memory, zero-copy
console.log(back.length, back[0]); // 8388608 42

// Where O_DIRECT may be missing (a tmpfs in a container), fall back to buffered I/O with a warning:
const lenient = storeFor('direct:///', { allowBufferedFallback: true });
console.log((await lenient.get(`direct://${dir}/shard-0000.bin`)).length); // 8388608
await rm(dir, { recursive: true });
