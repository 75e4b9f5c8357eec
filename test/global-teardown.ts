/** Stops the servers test/global-setup.ts started. */
export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__S3DLIO_TEST_SERVERS__ ?? []).map((server) => server.stop()));
}
