// gs:// (or gcs://): Google Cloud Storage.
// Credentials: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, the metadata
// server); GOOGLE_CLOUD_PROJECT names the project buckets are made in. STORAGE_EMULATOR_HOST points
// at an emulator instead (its requests carry no credentials).
import { createBucket, deleteBucket, deletePrefix, get, list, put } from 's3dlio';

const bucket = `gs://s3dlio-example-${Date.now()}`; // a scratch bucket, removed at the end
await createBucket(bucket);
await put(`${bucket}/train/shard-0000.bin`, new Uint8Array(1024 * 1024).fill(7)); // sent with its CRC32C
console.log(await list(`${bucket}/train/`)); // [ 'gs://…/train/shard-0000.bin' ]
const bytes = await get(`${bucket}/train/shard-0000.bin`);
console.log(bytes.length, bytes[0]); // 1048576 7
await deletePrefix(`${bucket}/`);
await deleteBucket(bucket);
