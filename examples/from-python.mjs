// The Python quick start (put_bytes, get, get_range, list, stat, exists, delete), in JavaScript.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deleteObject, exists, get, getRange, list, put, stat } from 's3dlio';

const dir = await mkdtemp(join(process.cwd(), 'from-python-'));
const uri = `file://${dir}/data.bin`; // or s3://my-bucket/data.bin, az://…, gs://…

await put(uri, 'Hello, World!');                            // s3dlio.put_bytes(uri, b"Hello, World!")
const data = await get(uri);                                // s3dlio.get(uri): a Uint8Array, no copy
console.log(data.length, Buffer.from(data).toString());     // 13 Hello, World!
const chunk = await getRange(uri, 0, 5);                    // s3dlio.get_range(uri, offset=0, length=5)
console.log(await list(`file://${dir}/`, { recursive: true })); // s3dlio.list(prefix, recursive=True)
console.log((await stat(uri)).size, chunk.length);          // s3dlio.stat(uri)["size"]
if (await exists(uri)) await deleteObject(uri);              // s3dlio.exists / s3dlio.delete
await rm(dir, { recursive: true });
