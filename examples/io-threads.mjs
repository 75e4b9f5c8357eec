// Object bodies moved by worker threads, each with its own sockets (s3://, az:// and gs://).
import { storeFor } from 's3dlio';

const store = storeFor('s3://', { ioThreads: 2 }); // or S3DLIO_CLOUD_IO_THREADS=2
const bucket = `s3://s3dlio-threads-${Date.now()}`;
await store.createBucket(bucket);
await store.put(`${bucket}/shard-0000.bin`, new Uint8Array(48 * 1024 * 1024).fill(1)); // parts sent from threads
const shard = new Uint8Array(new SharedArrayBuffer(64 * 1024 * 1024)); // reused, shared with the threads
const bytes = await store.getInto(`${bucket}/shard-0000.bin`, shard); // every byte lands in `shard`
console.log(bytes, store.stats().ioThreads); // 50331648 { threads: 2, running: …, inFlight: 0, copiedBytes: 0 }
await store.deletePrefix(`${bucket}/`);
await store.deleteBucket(bucket);
