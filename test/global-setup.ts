/**
 * Starts the real local servers the cloud tests talk to, once per test run, and hands their
 * addresses to the test workers through environment variables. Variables already set point the
 * tests at other (e.g. real) endpoints instead, and the matching server is not started.
 *
 *   S3DLIO_TEST_S3_ENDPOINT     (default: moto_server on a free port)
 *   S3DLIO_TEST_AZURE_CONNECTION_STRING (default: Azurite)
 *   S3DLIO_TEST_GCS_ENDPOINT    (default: test/servers/gcs-server.ts, in this process)
 *
 * moto is a tool from outside npm: where it is not installed the S3 tests are skipped loudly (see
 * test/helpers/tools.ts), unless S3DLIO_REQUIRE_TOOLS=1 (CI), which makes it a failure.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { azuriteConnectionString, startAzurite } from './servers/azurite';
import { startGcsServer } from './servers/gcs-server';
import { MotoNotInstalledError, startMoto } from './servers/moto';
import type { ProcessServer } from './servers/process-server';

declare global {
  var __S3DLIO_TEST_SERVERS__: Array<Pick<ProcessServer, 'stop'>> | undefined;
}

export default async function globalSetup(): Promise<void> {
  const servers: Array<Pick<ProcessServer, 'stop'>> = [];
  globalThis.__S3DLIO_TEST_SERVERS__ = servers;
  // Tests that need a missing outside tool record their skip here; the summary reporter lists them.
  const skipLog = path.join(mkdtempSync(path.join(tmpdir(), 's3dlio-skips-')), 'skipped.tsv');
  writeFileSync(skipLog, '');
  process.env.S3DLIO_TEST_SKIP_LOG = skipLog;
  const motoMissingIsFine = process.env.S3DLIO_REQUIRE_TOOLS !== '1';
  const settled = await Promise.allSettled([
    process.env.S3DLIO_TEST_S3_ENDPOINT
      ? undefined
      : startMoto().catch((error: unknown) => {
          if (error instanceof MotoNotInstalledError && motoMissingIsFine) return undefined;
          throw error;
        }),
    process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING ? undefined : startAzurite(),
    process.env.S3DLIO_TEST_GCS_ENDPOINT ? undefined : startGcsServer(),
  ]);
  const failures = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failures.length > 0) {
    // Stop what did start, then fail the run with every reason.
    await Promise.all(settled.map((result) => (result.status === 'fulfilled' ? result.value?.stop() : undefined)));
    throw new AggregateError(failures, `test servers failed to start: ${failures.map(String).join('; ')}`);
  }
  const [moto, azurite, gcs] = settled.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
  if (moto) {
    servers.push(moto);
    process.env.S3DLIO_TEST_S3_ENDPOINT = moto.url;
  }
  if (azurite) {
    servers.push(azurite);
    process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING = azuriteConnectionString(azurite.url);
  }
  if (gcs) {
    servers.push(gcs);
    process.env.S3DLIO_TEST_GCS_ENDPOINT = gcs.url;
  }
}
