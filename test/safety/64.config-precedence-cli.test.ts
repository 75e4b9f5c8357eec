/**
 * The CLI's global options over the environment, on the wire: --endpoint-url over
 * AWS_ENDPOINT_URL_S3 / STORAGE_EMULATOR_HOST / the endpoint of AZURE_STORAGE_CONNECTION_STRING,
 * --region over AWS_REGION, --ca-bundle over AWS_CA_BUNDLE — for every command of a session
 * (create-bucket, put, ls, stat, get, cp, rm, list-buckets, delete-bucket). Runs the built binary.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { runCliOk } from '../cli/cli';
import { newBucketName, requiredEnv } from '../cloud/targets';
import { withEnv } from '../helpers/env';
import { type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy';
import { selfSignedCertificate } from '../helpers/tls';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../servers/azurite';

const tmp = mkdtempSync(path.join(tmpdir(), 's3dlio-cli-precedence-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const azuriteOrigin = (): string =>
  new URL(/BlobEndpoint=([^;]+)/.exec(requiredEnv('S3DLIO_TEST_AZURE_CONNECTION_STRING'))![1]).origin;

/** A session of commands on one bucket; every one must succeed. */
async function session(globals: string[], bucketUri: string, schemeUri: string, env: Record<string, string>) {
  const run = (...args: string[]) => withEnv(env, () => runCliOk([...globals, ...args]));
  const commands: string[][] = [
    ['create-bucket', bucketUri],
    ['put', `${bucketUri}gen/`, '-n', '2', '-s', '1KiB', '-t', 'object_{}_of_{}.dat'],
    ['ls', '-r', `${bucketUri}gen/`],
    ['stat', `${bucketUri}gen/object_0_of_2.dat`],
    ['get', '-r', `${bucketUri}gen/`],
    ['cp', '-r', `${bucketUri}gen/`, `${bucketUri}copy/`],
    ['rm', '-r', `${bucketUri}copy/`],
    ['list-buckets', schemeUri],
    ['delete-bucket', '-f', bucketUri],
  ];
  for (const command of commands) await run(...command);
  return commands.length;
}

describe.each([
  [
    's3',
    () => requiredEnv('S3DLIO_TEST_S3_ENDPOINT'),
    (wrong: RecordingProxy) => ({
      AWS_ENDPOINT_URL_S3: wrong.url,
      AWS_REGION: 'ap-south-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    }),
    (bucket: string) => `s3://${bucket}/`,
    's3://',
  ],
  [
    'gs',
    () => requiredEnv('S3DLIO_TEST_GCS_ENDPOINT'),
    (wrong: RecordingProxy) => ({ STORAGE_EMULATOR_HOST: wrong.url, GOOGLE_CLOUD_PROJECT: 'test' }),
    (bucket: string) => `gs://${bucket}/`,
    'gs://',
  ],
  [
    'az',
    azuriteOrigin,
    (wrong: RecordingProxy) => ({
      AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${wrong.url}/${AZURITE_ACCOUNT};`,
    }),
    (bucket: string) => `az://${AZURITE_ACCOUNT}/${bucket}/`,
    `az://${AZURITE_ACCOUNT}/`,
  ],
] as const)('%s://', (scheme, server, wrongEnv, bucketUri, schemeUri) => {
  let right: RecordingProxy;
  let wrong: RecordingProxy;
  beforeAll(async () => {
    [right, wrong] = await Promise.all([
      startRecordingProxy({ target: server() }),
      startRecordingProxy({ target: server() }),
    ]);
  });
  afterAll(() => Promise.all([right.stop(), wrong.stop()]));

  test('--endpoint-url wins over the environment for every command', async () => {
    const globals = ['--endpoint-url', right.url, ...(scheme === 's3' ? ['--region', 'eu-west-3'] : [])];
    const commands = await session(globals, bucketUri(newBucketName(`cli${scheme}`)), schemeUri, wrongEnv(wrong));
    expect(right.requests.length).toBeGreaterThanOrEqual(commands);
    expect(wrong.requests).toEqual([]);
    if (scheme === 's3')
      expect(new Set(right.credentialScopes().map((scope) => scope.region))).toEqual(new Set(['eu-west-3']));
  });
});

test('--ca-bundle wins over AWS_CA_BUNDLE', async () => {
  const server = selfSignedCertificate(tmp, 'server');
  const other = selfSignedCertificate(tmp, 'other');
  const tls = await startRecordingProxy({ target: requiredEnv('S3DLIO_TEST_S3_ENDPOINT'), tls: server });
  try {
    const env = { AWS_CA_BUNDLE: other.certFile, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
    const globals = ['--endpoint-url', tls.url, '--ca-bundle', server.certFile];
    await session(globals, `s3://${newBucketName('clitls')}/`, 's3://', env);
    expect(tls.requests.length).toBeGreaterThanOrEqual(9);
  } finally {
    await tls.stop();
  }
});
