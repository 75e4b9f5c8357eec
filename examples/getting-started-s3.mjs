// s3://: Amazon S3 or any S3-compatible store (MinIO, Ceph, Vast, …).
// Credentials, region and endpoint come from the environment, as for the AWS CLI:
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (or a profile, SSO, instance metadata), AWS_REGION,
//   AWS_ENDPOINT_URL for a store other than Amazon S3 (e.g. http://10.0.0.5:9000).
import { createBucket, deleteBucket, deletePrefix, get, list, put, stat } from 's3dlio';

const bucket = `s3://s3dlio-example-${Date.now()}`; // a scratch bucket, removed at the end
await createBucket(bucket);
await put(`${bucket}/train/shard-0000.bin`, new Uint8Array(1024 * 1024).fill(7));
console.log(await list(`${bucket}/train/`));                   // [ 's3://…/train/shard-0000.bin' ]
console.log((await stat(`${bucket}/train/shard-0000.bin`)).size); // 1048576
const bytes = await get(`${bucket}/train/shard-0000.bin`, { verify: true }); // checked against its CRC32C
console.log(bytes.length, bytes[0]); // 1048576 7
await deletePrefix(`${bucket}/`);
await deleteBucket(bucket);
