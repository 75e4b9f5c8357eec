// One S3 storage behind several endpoints (MinIO, Ceph, Vast: one address per node or port).
// S3_ENDPOINT_URIS lists them: 'http://10.0.0.{1...8}:9000', comma-separated URLs, or a file.
import { storeFor } from 's3dlio';

const cluster = storeFor('s3://', {
  endpoints: process.env.S3_ENDPOINT_URIS ?? 'http://10.0.0.{1...8}:9000', // or an array of URLs
  endpointStrategy: 'least-connections', // the endpoint with the fewest requests in flight
});
const bucket = `s3://s3dlio-endpoints-${Date.now()}`;
await cluster.createBucket(bucket);
const items = Array.from({ length: 64 }, (_, i) => ({ uri: `${bucket}/item-${i}`, data: new Uint8Array(4096) }));
await cluster.putMany(items, { concurrency: 16 });
await cluster.getMany(items.map((item) => item.uri), { concurrency: 64 });
for (const endpoint of cluster.stats().endpoints) {
  console.log(endpoint.endpoint, endpoint.health, endpoint.requests); // per endpoint: requests, bytes, errors, latency
}
await cluster.deletePrefix(`${bucket}/`);
await cluster.deleteBucket(bucket);
