/**
 * Starts the real local servers the cloud tests talk to, once per test run, and hands their
 * addresses to the test workers through environment variables. Variables already set point the
 * tests at other (e.g. real) endpoints instead, and the matching server is not started.
 *
 *   S3DLIO_TEST_S3_ENDPOINT     (default: moto_server on a free port)
 *   S3DLIO_TEST_AZURE_CONNECTION_STRING (default: Azurite)
 */
import { azuriteConnectionString, startAzurite } from './servers/azurite';
import { startMoto } from './servers/moto';
import type { ProcessServer } from './servers/process-server';

declare global {
  // eslint-disable-next-line no-var
  var __S3DLIO_TEST_SERVERS__: ProcessServer[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  const servers: ProcessServer[] = [];
  globalThis.__S3DLIO_TEST_SERVERS__ = servers;
  const started = await Promise.all([
    process.env.S3DLIO_TEST_S3_ENDPOINT ? undefined : startMoto(),
    process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING ? undefined : startAzurite(),
  ]);
  const [moto, azurite] = started;
  if (moto) {
    servers.push(moto);
    process.env.S3DLIO_TEST_S3_ENDPOINT = moto.url;
  }
  if (azurite) {
    servers.push(azurite);
    process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING = azuriteConnectionString(azurite.url);
  }
}
