/**
 * What only s3:// has: cross-checks with an independent client (the AWS CLI), > 1,000-key
 * pagination and batch deletes, endpoint-in-URI, bucket naming rules, checksum and CA options,
 * environment configuration, and real authentication failures.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import * as s3dlio from '../../lib';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { startMoto } from '../servers/moto';
import { withTools } from '../helpers/tools';
import { runNodeScript } from '../helpers/child';
import { startFaultProxy } from '../servers/fault-proxy';
import { newBucketName, s3StoreOptions, s3Target } from './targets';

// The whole suite needs moto (skipped loudly without it); the AWS CLI cross-checks need `aws` too.
const s3 = withTools(['moto'], 'S3 specifics (moto)');
const target = s3Target();
const store = target.store();
const bucket = newBucketName('s3');
const base = `s3://${bucket}/`;
const endpoint = (): string => process.env.S3DLIO_TEST_S3_ENDPOINT as string;
let scratch = '';

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 's3dlio-s3-'));
  await store.createBucket(base);
});
afterAll(async () => {
  await store.deleteBucket(base, { force: true });
  rmSync(scratch, { recursive: true, force: true });
});

function aws(args: string[]): string {
  return execFileSync('aws', ['--endpoint-url', endpoint(), '--region', 'us-east-1', ...args], {
    encoding: 'utf8',
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
  });
}

withTools(['moto', 'aws'], 'cross-check with the AWS CLI').describe('cross-check with the AWS CLI', () => {
  test('objects written by the library are listed and read back by `aws s3`', async () => {
    const bytes = testBytes(200_000, 11);
    await store.put(`${base}cli/from lib/ünï.bin`, bytes);
    expect(aws(['s3', 'ls', '--recursive', `s3://${bucket}/cli/`])).toContain('cli/from lib/ünï.bin');
    const file = path.join(scratch, 'from-lib.bin');
    aws(['s3', 'cp', `s3://${bucket}/cli/from lib/ünï.bin`, file]);
    expectSameBytes(readFileSync(file), bytes);
  });

  test('objects written by `aws s3 cp` are listed and read by the library', async () => {
    const bytes = testBytes(70_000, 12);
    const file = path.join(scratch, 'to-lib.bin');
    writeFileSync(file, bytes);
    aws(['s3', 'cp', file, `s3://${bucket}/cli/from cli/a+b.bin`]);
    expect(await store.list(`${base}cli/from cli/`)).toEqual([`${base}cli/from cli/a+b.bin`]);
    expectSameBytes(await store.get(`${base}cli/from cli/a+b.bin`), bytes);
  });
});

s3.test(
  'more than 1,000 keys: ListObjectsV2 pagination, DeleteObjects in chunks of 1,000',
  async () => {
    const uris = Array.from({ length: 1100 }, (_, index) => `${base}many/${String(index).padStart(5, '0')}.bin`);
    await store.putMany(
      uris.map((uri) => ({ uri, data: new Uint8Array([1]) })),
      { concurrency: 32 },
    );
    const listed = await store.list(`${base}many/`, { recursive: true });
    expect(listed).toHaveLength(1100);
    expect(listed).toEqual(uris);
    expect(await store.deleteMany(uris.slice(0, 1050))).toBe(1050);
    expect(await store.deletePrefix(`${base}many/`)).toBe(50);
    expect(await store.list(`${base}many/`, { recursive: true })).toEqual([]);
  },
  120_000,
);

s3.test('an endpoint can be named inside the URI: s3://host:port/bucket/key', async () => {
  const host = new URL(endpoint()).host;
  const inline = `s3://${host}/${bucket}/inline/obj.txt`;
  await store.put(inline, 'inline endpoint');
  expect(Buffer.from(await store.get(`${base}inline/obj.txt`)).toString()).toBe('inline endpoint');
  expect(await store.list(`s3://${host}/${bucket}/inline/`)).toEqual([inline]);
});

s3.test.each(['ab', 'UPPER', 'under_score', 'a..b', '-start', 'end-', 'x'.repeat(64)])(
  'invalid bucket name %j → ERR_INVALID_URI',
  async (name) => {
    const error = await rejectionOf(store.get(`s3://${name}/key`));
    expect(error).toMatchObject({ code: 'ERR_INVALID_URI' });
    expect(error.message).toMatch(/bucket name/);
  },
);

s3.test('checksums: WHEN_REQUIRED (for stores that reject SDK checksums) still round-trips', async () => {
  const quiet = target.store({ checksums: 'WHEN_REQUIRED' });
  await quiet.put(`${base}checksum/when-required`, testBytes(1000));
  expectSameBytes(await quiet.get(`${base}checksum/when-required`), testBytes(1000));
  expect(() => target.store({ checksums: 'SOMETIMES' })).toThrow(/WHEN_SUPPORTED, WHEN_REQUIRED/);
});

s3.test(
  'a custom CA bundle is accepted without breaking a plain-HTTP endpoint; a missing one is a clear error',
  async () => {
    const withCa = target.store({ caBundle: '/etc/ssl/certs/ca-certificates.crt' });
    await withCa.put(`${base}ca/ok`, 'x');
    expect(() => target.store({ caBundle: path.join(scratch, 'missing.pem') })).toThrow(/Cannot read the CA bundle/);
  },
);

s3.test('module functions configure s3:// from the environment (AWS_ENDPOINT_URL, credentials, region)', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint(),
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
  });
  try {
    await s3dlio.put(`${base}env/obj`, 'from env');
    expect(Buffer.from(await s3dlio.get(`${base}env/obj`)).toString()).toBe('from env');
    expect(await s3dlio.listBuckets('s3://')).toContain(base);
  } finally {
    process.env = saved;
  }
});

s3.describe("the AWS SDK's notice that its 2027 releases need Node 22", () => {
  const NOTICE = 'NodeVersionSupportWarning';
  const SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
  // The SDK prints it on Node < 22 only: on a later Node there is nothing to silence.
  const printedHere = Number(process.versions.node.split('.')[0]) < 22;
  /** A child process that puts and gets an object through the module functions; its stderr. */
  async function useS3(value: string | undefined): Promise<{ stderr: string; switchAfter: string | null }> {
    const script = `(async () => {
      const s3dlio = require(LIB);
      await s3dlio.put(ARGS.uri, 'x');
      await s3dlio.get(ARGS.uri);
      console.log('RESULT ' + JSON.stringify({ switchAfter: process.env[ARGS.name] ?? null }));
    })().catch((error) => { console.error(error); process.exit(1); });`;
    const env = {
      AWS_ENDPOINT_URL: endpoint(),
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      [SWITCH]: value,
    };
    const result = await runNodeScript(script, { uri: `${base}notice/obj`, name: SWITCH }, [], { env });
    const line = result.stdout.split('\n').find((text) => text.startsWith('RESULT '));
    if (result.code !== 0 || !line) throw new Error(`child failed (exit ${result.code}):\n${result.stderr}`);
    return { stderr: result.stderr, ...(JSON.parse(line.slice('RESULT '.length)) as { switchAfter: string | null }) };
  }

  test('is not printed by a program using s3://, and the switch is not left in its environment', async () => {
    const { stderr, switchAfter } = await useS3(undefined);
    expect(stderr).not.toContain(NOTICE);
    expect(stderr).toBe('');
    // Set for the first client's construction only: child processes of the program do not inherit it.
    expect(switchAfter).toBeNull();
  });

  test("the user's own setting of the SDK's switch wins (false shows it)", async () => {
    const shown = await useS3('false');
    if (printedHere) expect(shown.stderr).toContain(NOTICE);
    expect(shown.switchAfter).toBe('false');
    expect((await useS3('true')).stderr).not.toContain(NOTICE);
  });
});

s3.describe('authentication is enforced by a moto with IAM checks on', () => {
  let strict: Awaited<ReturnType<typeof startMoto>>;
  beforeAll(async () => {
    strict = await startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: '0' });
  });
  afterAll(() => strict?.stop());

  test('wrong credentials → ERR_ACCESS_DENIED; the secret appears nowhere in the error', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY';
    const denied = s3dlio.storeFor('s3://', {
      endpoint: strict.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAWRONGKEY0000', secretAccessKey: secret },
      maxAttempts: 1,
    });
    const error = await rejectionOf(denied.get('s3://some-bucket/key'));
    expect(error).toMatchObject({ code: 'ERR_ACCESS_DENIED', operation: 'get' });
    const everything = JSON.stringify({
      message: error.message,
      stack: error.stack,
      cause: String(error.cause),
      fields: { ...error },
    });
    expect(everything).not.toContain(secret);
    expect(everything).not.toMatch(/Signature=[0-9a-f]{16}/);
  });
});

s3.describe('response checksums', () => {
  /** A store of the moto server reached through `url`, configured as the target's stores are. */
  const viaProxy = (url: string, options: Record<string, unknown>) =>
    s3dlio.storeFor('s3://', { ...s3StoreOptions(), endpoint: url, ...options });

  test('a whole-object GET checks the stored CRC32C the service sends, without verify (as the SDK does)', async () => {
    const proxy = await startFaultProxy({ target: endpoint() });
    try {
      const bytes = testBytes(2 * 1024 * 1024, 7);
      await store.put(`${base}checked/obj`, bytes);
      proxy.setRules([{ method: 'GET', action: { type: 'corrupt', at: 12345 } }]);
      const checked = viaProxy(proxy.url, { maxAttempts: 1 });
      expect(await rejectionOf(checked.get(`${base}checked/obj`, { rangeThreshold: 0 }))).toMatchObject({
        code: 'ERR_CHECKSUM_MISMATCH',
      });
      // Checks off (WHEN_REQUIRED): the SDK would not check either.
      const unchecked = viaProxy(proxy.url, { maxAttempts: 1, checksums: 'WHEN_REQUIRED' });
      const got = await unchecked.get(`${base}checked/obj`, { rangeThreshold: 0 });
      expect(got[12345]).toBe(bytes[12345] ^ 0xff);
    } finally {
      await proxy.stop();
    }
  });
});
