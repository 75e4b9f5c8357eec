/** Azurite's blob service (npm devDependency), the Azure stand-in of the test suite. */
import * as path from 'path';

import { type ProcessServer, freePort, startProcessServer } from './process-server';

/** The well-known Azurite development account. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
/** Its well-known key (public, documented by Microsoft; not a secret). */
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Connection string for a running Azurite. */
export function azuriteConnectionString(url: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${url}/${AZURITE_ACCOUNT};`;
}

/**
 * Starts Azurite (blob service, in memory) on a free loopback port; with `tls`, over HTTPS with
 * that certificate, and with `oauth`, also accepting bearer tokens (checked for issuer, audience
 * and lifetime, not for a signature: Azurite's `basic` mode).
 */
export async function startAzurite(
  options: { tls?: { certFile: string; keyFile: string }; oauth?: boolean } = {},
): Promise<ProcessServer> {
  const port = await freePort();
  const extra = [
    ...(options.tls ? ['--cert', options.tls.certFile, '--key', options.tls.keyFile] : []),
    ...(options.oauth ? ['--oauth', 'basic'] : []),
  ];
  const bin = path.resolve(__dirname, '..', '..', 'node_modules', '.bin', 'azurite-blob');
  return startProcessServer(
    'azurite-blob',
    bin,
    [
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--inMemoryPersistence',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
      '--silent',
      ...extra,
    ],
    port,
    { https: options.tls !== undefined },
  );
}
