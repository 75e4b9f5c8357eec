/**
 * The cloud backends under test, each pointed at the server test/global-setup.ts started (or at
 * the endpoint the S3DLIO_TEST_* variables name). Every contract test runs on each of them.
 */
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'crypto';

import { type ObjectStore, storeFor } from '../../lib';
import { hasTool, toolsAvailable } from '../helpers/tools';

export interface CloudTarget {
  /** Label in test names. */
  name: string;
  scheme: 's3' | 'az' | 'gs';
  /** A store configured for the test server. */
  store(options?: Record<string, unknown>): ObjectStore;
  /** URI of a bucket (container) with this name. */
  bucketUri(bucket: string): string;
  /** How `listBuckets` is called on this backend. */
  schemeUri: string;
}

/** A fresh, valid bucket name (3–63 lowercase characters) unique to this run. */
export function newBucketName(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}`.toLowerCase().slice(0, 63);
}

/** Where nothing listens: the S3 endpoint of suites whose S3 tests are skipped (moto missing). */
const NO_SERVER = 'http://127.0.0.1:9';

/** An environment variable the global setup sets (the test servers' endpoints). */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  // Without moto the S3 tests are skipped (test/helpers/tools.ts), but suites still build stores.
  if (!value && name === 'S3DLIO_TEST_S3_ENDPOINT' && !hasTool('moto')) return NO_SERVER;
  if (!value) throw new Error(`${name} is not set: test/global-setup.ts should have started the server`);
  return value;
}

/** The S3 test endpoint (moto), or an address where nothing listens when moto is missing. */
export function s3Endpoint(): string {
  return requiredEnv('S3DLIO_TEST_S3_ENDPOINT');
}

/** Where the S3 test server is and how to sign for it. */
function s3Connection(): {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
} {
  return {
    endpoint: requiredEnv('S3DLIO_TEST_S3_ENDPOINT'),
    region: process.env.S3DLIO_TEST_S3_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: process.env.S3DLIO_TEST_S3_ACCESS_KEY ?? 'test',
      secretAccessKey: process.env.S3DLIO_TEST_S3_SECRET_KEY ?? 'test',
    },
  };
}

/** The store options of the S3 test server (also for child processes, which build their own store). */
export function s3StoreOptions(): Record<string, unknown> {
  return { ...s3Connection(), retryBaseDelayMs: 20 };
}

/**
 * A plain SDK client of the S3 test server, for what the library does not do (list staged
 * multipart uploads, write keys it refuses). The caller destroys it.
 */
export function s3Client(): S3Client {
  return new S3Client({ ...s3Connection(), forcePathStyle: true });
}

/** `Key UploadId` of each multipart upload staged in `bucket` (below `prefix`) and never completed. */
export async function stagedUploads(bucket: string, prefix?: string): Promise<string[]> {
  const client = s3Client();
  try {
    const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
    return (listed.Uploads ?? []).map((upload) => `${upload.Key} ${upload.UploadId}`);
  } finally {
    client.destroy();
  }
}

/** Whether this run's s3:// and gs:// stores use the SDKs' transport (the jest project 'sdk transport'). */
export function sdkTransportRun(): boolean {
  return process.env.S3DLIO_S3_TRANSPORT === 'sdk';
}

/** S3 on moto (or S3DLIO_TEST_S3_ENDPOINT with S3DLIO_TEST_S3_ACCESS_KEY/SECRET_KEY/REGION). */
export function s3Target(): CloudTarget {
  const options = s3StoreOptions;
  return {
    name: sdkTransportRun() ? 's3 (moto, sdk transport)' : 's3 (moto)',
    scheme: 's3',
    store: (extra = {}) => storeFor('s3://', { ...options(), ...extra }),
    bucketUri: (bucket) => `s3://${bucket}/`,
    schemeUri: 's3://',
  };
}

/** Azure Blob on Azurite, through S3DLIO_TEST_AZURE_CONNECTION_STRING (its account devstoreaccount1). */
export function azTarget(): CloudTarget {
  return {
    name: sdkTransportRun() ? 'az (Azurite, sdk transport)' : 'az (Azurite)',
    scheme: 'az',
    store: (extra = {}) =>
      storeFor('az://devstoreaccount1/', {
        connectionString: requiredEnv('S3DLIO_TEST_AZURE_CONNECTION_STRING'),
        retryBaseDelayMs: 20,
        ...extra,
      }),
    bucketUri: (bucket) => `az://devstoreaccount1/${bucket}/`,
    schemeUri: 'az://devstoreaccount1/',
  };
}

/** GCS on test/servers/gcs-server.ts (or S3DLIO_TEST_GCS_ENDPOINT, S3DLIO_TEST_GCS_PROJECT). */
export function gsTarget(): CloudTarget {
  const options = (): Record<string, unknown> => ({
    endpoint: requiredEnv('S3DLIO_TEST_GCS_ENDPOINT'),
    projectId: process.env.S3DLIO_TEST_GCS_PROJECT ?? 'test',
    retryBaseDelayMs: 20,
  });
  return {
    name: sdkTransportRun() ? 'gs (test GCS server, sdk transport)' : 'gs (test GCS server)',
    scheme: 'gs',
    store: (extra = {}) => storeFor('gs://', { ...options(), ...extra }),
    bucketUri: (bucket) => `gs://${bucket}/`,
    schemeUri: 'gs://',
  };
}

/** The targets the contract suites run on (S3 only where moto is installed: skipped loudly otherwise). */
export function cloudTargets(): CloudTarget[] {
  const s3 = toolsAvailable(['moto'], 'the s3 (moto) cases of this suite') ? [s3Target()] : [];
  return [...s3, azTarget(), gsTarget()];
}
