// az://: Azure Blob Storage, as az://account/container/key.
// Credentials come from the environment: AZURE_STORAGE_CONNECTION_STRING (or AZURE_STORAGE_SAS_TOKEN,
// or AZURE_STORAGE_KEY with AZURE_STORAGE_ACCOUNT), else DefaultAzureCredential (@azure/identity).
import { createBucket, deleteBucket, deletePrefix, get, list, put } from 's3dlio';

const account = process.env.AZURE_STORAGE_ACCOUNT ?? 'myaccount';
const container = `az://${account}/s3dlio-example-${Date.now()}`; // a scratch container
await createBucket(container);
await put(`${container}/train/shard-0000.bin`, new Uint8Array(1024 * 1024).fill(7));
console.log(await list(`${container}/train/`)); // [ 'az://…/train/shard-0000.bin' ]
const bytes = await get(`${container}/train/shard-0000.bin`);
console.log(bytes.length, bytes[0]); // 1048576 7
await deletePrefix(`${container}/`);
await deleteBucket(container);
