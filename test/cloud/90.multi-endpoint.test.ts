/**
 * Multi-endpoint s3:// stores: several endpoints in front of ONE storage (fault proxies in front
 * of one moto, as a cluster's ports front one store). Requests spread by strategy, a dead
 * endpoint is taken out and its work goes on elsewhere with nothing lost, a restarted one comes
 * back, every endpoint down is one typed error, and stats() counts it all.
 */
import * as s3dlio from '../../lib';
import { BatchError } from '../../lib';
import { withEnv } from '../helpers/env';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy';
import { withTools } from '../helpers/tools';
import { type FaultProxy, startFaultProxy } from '../servers/fault-proxy';
import { newBucketName, requiredEnv, s3StoreOptions } from './targets';

const s3 = withTools(['moto'], 'multi-endpoint s3:// stores (moto)');
const motoUrl = (): string => requiredEnv('S3DLIO_TEST_S3_ENDPOINT');
const bucket = newBucketName('multi');
const base = `s3://${bucket}/`;
/** A secret that must never appear in an error. */
const SECRET = 'multi-endpoint-secret-key-0123456789';

type Options = s3dlio.StoreOptionsFor<'s3://'>;
/** A store of moto through `endpoints` (fast probes, so tests see recoveries quickly). */
const storeOver = (endpoints: string[] | string, options: Options = {}): s3dlio.ObjectStore =>
  s3dlio.storeFor('s3://', {
    ...(s3StoreOptions() as Options),
    endpoint: undefined,
    endpoints,
    healthCheck: { probeIntervalMs: 20, maxProbeIntervalMs: 100, probeTimeoutMs: 500 },
    ...options,
  });

const byEndpoint = (store: s3dlio.ObjectStore): Record<string, s3dlio.EndpointStats> =>
  Object.fromEntries(store.stats().endpoints.map((entry) => [entry.endpoint, entry]));

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let proxies: FaultProxy[] = [];
beforeAll(async () => {
  if (!process.env.S3DLIO_TEST_S3_ENDPOINT) return;
  await s3dlio.storeFor('s3://', s3StoreOptions() as Options).createBucket(base);
});
afterAll(async () => {
  if (!process.env.S3DLIO_TEST_S3_ENDPOINT) return;
  await s3dlio.storeFor('s3://', s3StoreOptions() as Options).deleteBucket(base, { force: true });
});
beforeEach(async () => {
  if (!process.env.S3DLIO_TEST_S3_ENDPOINT) return;
  proxies = await Promise.all([1, 2, 3].map(() => startFaultProxy({ target: motoUrl() })));
});
afterEach(() => Promise.all(proxies.map((proxy) => proxy.stop().catch(() => undefined))));
const urls = (): string[] => proxies.map((proxy) => proxy.url);

s3.describe('spreading requests', () => {
  test('round-robin: one request per endpoint in turn', async () => {
    const store = storeOver(urls());
    for (let i = 0; i < 30; i++) await store.put(`${base}rr/${i}`, `object ${i}`);
    expect(proxies.map((proxy) => proxy.stats.requests)).toEqual([10, 10, 10]);
    const stats = byEndpoint(store);
    expect(urls().map((url) => stats[url].requests)).toEqual([10, 10, 10]);
    expect(urls().map((url) => stats[url].bytesOut)).toEqual(
      [0, 1, 2].map((first) =>
        [
          first,
          first + 3,
          first + 6,
          first + 9,
          first + 12,
          first + 15,
          first + 18,
          first + 21,
          first + 24,
          first + 27,
        ].reduce((sum, i) => sum + `object ${i}`.length, 0),
      ),
    );
  });

  test('least-connections: a slow endpoint gets fewer of the requests in flight', async () => {
    const store = storeOver(urls(), { endpointStrategy: 'least-connections' });
    await store.put(`${base}lc/obj`, testBytes(1024, 1));
    proxies.forEach((proxy) => proxy.resetStats());
    proxies[0].setRules([{ method: 'GET', action: { type: 'delay', ms: 200 } }]);
    // Six callers, each reading again as soon as it has its answer: 120 reads.
    let left = 120;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (left-- > 0) await store.get(`${base}lc/obj`);
      }),
    );
    const [slow, ...fast] = proxies.map((proxy) => proxy.stats.requests);
    expect(slow + fast[0] + fast[1]).toBe(120);
    // Each of its requests takes 200 ms while the others take a few: it holds two callers at most.
    for (const count of fast) expect(count).toBeGreaterThan(slow * 3);
  });

  test('a multipart upload keeps its upload id on one endpoint', async () => {
    const store = storeOver(urls());
    const bytes = testBytes(16 * 1024 * 1024 + 123, 2);
    await store.put(`${base}mp/obj`, bytes, { multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
    const withParts = proxies.filter((proxy) => proxy.stats.requests >= 5);
    // CreateMultipartUpload, 4 parts and CompleteMultipartUpload on one endpoint.
    expect(withParts).toHaveLength(1);
    // Its stats say the same: all the bytes went out there.
    expect(byEndpoint(store)[withParts[0].url].bytesOut).toBe(bytes.byteLength);
    expectSameBytes(await store.get(`${base}mp/obj`), bytes);
  });
});

s3.describe('failover and recovery', () => {
  test('1,000 gets and puts, one endpoint killed mid-run: nothing fails, the bytes are those of a clean run', async () => {
    const store = storeOver(urls());
    const items = Array.from({ length: 500 }, (_, i) => ({ uri: `${base}fo/${i}`, data: testBytes(2048 + i, i + 7) }));
    let done = 0;
    const killAt = 300;
    const killed = (async () => {
      await until(() => done >= killAt, `${killAt} operations`, 60_000);
      await proxies[1].stop();
    })();
    // Puts first (each counted as it ends), then gets of the same objects.
    await Promise.all(
      chunks(items, 16).map(async (group) => {
        for (const item of group) {
          await store.put(item.uri, item.data);
          done++;
        }
      }),
    );
    const back = await Promise.all(
      chunks(items, 16).map(async (group) => {
        const out: Uint8Array[] = [];
        for (const item of group) {
          out.push(await store.get(item.uri));
          done++;
        }
        return out;
      }),
    );
    await killed;
    const flat = back.flat();
    const reference = chunks(items, 16).flat();
    reference.forEach((item, index) => expectSameBytes(flat[index], item.data, item.uri));
    const stats = byEndpoint(store);
    expect(stats[proxies[1].url]).toMatchObject({ health: 'down', lastFailure: { code: 'ERR_CONNECTION' } });
    expect(stats[proxies[0].url].health).toBe('up');
    expect(stats[proxies[2].url].health).toBe('up');
    // The dead endpoint's failures were retried elsewhere; after it went down it got no more work.
    expect(store.stats()).toMatchObject({ requests: expect.any(Number), errors: stats[proxies[1].url].errors });
    expect(store.stats().retries).toBeGreaterThanOrEqual(stats[proxies[1].url].errors);
  });

  test('a restarted endpoint is probed back up and gets requests again', async () => {
    const store = storeOver(urls());
    const port = proxies[2].port;
    await proxies[2].stop();
    for (let i = 0; i < 6; i++) await store.put(`${base}back/${i}`, 'x');
    expect(byEndpoint(store)[proxies[2].url].health).toBe('down');
    proxies[2] = await startFaultProxy({ target: motoUrl(), port });
    await until(() => byEndpoint(store)[proxies[2].url].health === 'up', 'the probe to bring it back');
    expect(byEndpoint(store)[proxies[2].url].downSince).toBeUndefined();
    const before = proxies[2].stats.requests;
    for (let i = 0; i < 6; i++) await store.put(`${base}back/again-${i}`, 'y');
    expect(proxies[2].stats.requests - before).toBeGreaterThanOrEqual(2);
  });

  test('5xx answers take an endpoint out after failuresToMarkDown in a row, not before', async () => {
    const store = storeOver(urls(), {
      healthCheck: { failuresToMarkDown: 2, probeIntervalMs: 60_000 },
      endpointStrategy: 'round-robin',
    });
    proxies[0].setRules([{ action: { type: 'status', status: 500 } }]);
    await store.put(`${base}5xx/a`, 'a'); // endpoint 0: 500, retried elsewhere
    expect(byEndpoint(store)[proxies[0].url]).toMatchObject({ health: 'up', errors: 1 });
    for (let i = 0; i < 3; i++) await store.put(`${base}5xx/${i}`, 'b');
    expect(byEndpoint(store)[proxies[0].url]).toMatchObject({
      health: 'down',
      errors: 2,
      lastFailure: { code: 'ERR_SERVER' },
    });
  });

  test('every endpoint down: ERR_NO_HEALTHY_ENDPOINT naming each one and its last failure, no credentials', async () => {
    const store = storeOver(urls(), {
      credentials: { accessKeyId: 'test', secretAccessKey: SECRET },
      maxAttempts: 6,
      retryBaseDelayMs: 1,
    });
    await Promise.all(proxies.map((proxy) => proxy.stop()));
    const error = await rejectionOf(store.get(`${base}down/obj`));
    expect(error).toBeInstanceOf(s3dlio.S3dlioError);
    expect(error).toMatchObject({ code: 'ERR_NO_HEALTHY_ENDPOINT', operation: 'get', uri: `${base}down/obj` });
    for (const url of urls()) {
      expect(error.message).toMatch(new RegExp(`${url} \\(ERR_CONNECTION: connection failed \\([^)]*ECONNREFUSED`));
    }
    expect(JSON.stringify({ message: error.message, cause: String(error.cause) })).not.toContain(SECRET);
    expect(store.stats().endpoints.map((entry) => entry.health)).toEqual(['down', 'down', 'down']);
    // A writer made now fails with a typed error at its requests, not with a raw one when made.
    const written = await rejectionOf(
      (async () => {
        const writer = await store.createWriter(`${base}down/w`, { partSize: 5 * 1024 * 1024 });
        await writer.write(testBytes(6 * 1024 * 1024, 9));
        await writer.close();
      })(),
    );
    expect(written).toBeInstanceOf(s3dlio.S3dlioError);
    expect(written.code).toMatch(/^ERR_(CONNECTION|NO_HEALTHY_ENDPOINT)$/);
    expect(await rejectionOf(store.put(`${base}down/p`, 'p'))).toMatchObject({ code: 'ERR_NO_HEALTHY_ENDPOINT' });
  });

  test('healthCheck: false never takes an endpoint out', async () => {
    const store = storeOver(urls(), { healthCheck: false });
    await proxies[0].stop();
    for (let i = 0; i < 6; i++) await store.put(`${base}nohc/${i}`, 'z');
    const dead = byEndpoint(store)[proxies[0].url];
    expect(dead).toMatchObject({ health: 'up', lastFailure: { code: 'ERR_CONNECTION' } });
    // Typed as a documented code: the ErrorCode union, not any string.
    const lastCode: s3dlio.ErrorCode | undefined = dead.lastFailure?.code;
    expect(lastCode).toBe('ERR_CONNECTION');
    // Still chosen in its turn: more than once in six puts, each failure retried elsewhere.
    expect(dead.errors).toBeGreaterThanOrEqual(2);
    expect(store.stats().errors).toBe(dead.errors);
  });
});

s3.describe('stats()', () => {
  test('requests, retries, errors, bytes, in flight and latency, per endpoint and in total', async () => {
    const store = storeOver(urls().slice(0, 2));
    const bytes = testBytes(10_000, 3);
    proxies[0].setRules([{ method: 'GET', nth: 1, action: { type: 'status', status: 503 } }]);
    await store.put(`${base}stats/obj`, bytes); // endpoint 0
    const pending = store.get(`${base}stats/obj`); // endpoint 1
    expect(store.stats().inFlight).toBe(1);
    expectSameBytes(await pending, bytes);
    expectSameBytes(await store.get(`${base}stats/obj`), bytes); // endpoint 0: 503, then endpoint 1
    const stats = store.stats();
    expect(stats).toMatchObject({
      scheme: 's3',
      requests: 4,
      retries: 1,
      errors: 1,
      bytesOut: 10_000,
      bytesIn: 20_000,
      inFlight: 0,
    });
    expect(stats.latencyMs.p50).toBeGreaterThan(0);
    expect(stats.latencyMs.p99).toBeGreaterThanOrEqual(stats.latencyMs.p50);
    expect(stats.latencyMs.max).toBeGreaterThanOrEqual(stats.latencyMs.p99);
    const [first, second] = stats.endpoints;
    expect(first).toMatchObject({ endpoint: proxies[0].url, requests: 2, errors: 1, bytesOut: 10_000, bytesIn: 0 });
    expect(second).toMatchObject({ endpoint: proxies[1].url, requests: 2, retries: 1, bytesIn: 20_000 });
    // A snapshot: later requests do not change it.
    await store.stat(`${base}stats/obj`);
    expect(stats.requests).toBe(4);
    expect(store.stats().requests).toBe(5);
  });

  test('an endpoint written in the URI is counted apart, and never taken out', async () => {
    const store = storeOver(urls().slice(0, 2));
    const inline = `s3://${new URL(proxies[2].url).host}/${bucket}/inline/obj`;
    await store.put(inline, 'inline');
    expect(proxies[2].stats.requests).toBe(1);
    expect(store.stats().endpoints.map((entry) => [entry.endpoint, entry.requests])).toEqual([
      [proxies[0].url, 0],
      [proxies[1].url, 0],
      [new URL(proxies[2].url).host, 1],
    ]);
  });
});

s3.describe('where requests go: the most specific setting wins', () => {
  // Five recording proxies in front of moto, one per way of naming an endpoint.
  const names = ['inline', 'endpoints', 'endpoint', 'S3_ENDPOINT_URIS', 'AWS_ENDPOINT_URL'] as const;
  type Source = (typeof names)[number];
  let fronts: Record<Source, RecordingProxy>;
  beforeAll(async () => {
    const started = await Promise.all(names.map(() => startRecordingProxy({ target: motoUrl() })));
    fronts = Object.fromEntries(names.map((name, index) => [name, started[index]])) as Record<Source, RecordingProxy>;
  });
  afterAll(() => Promise.all(Object.values(fronts ?? {}).map((front) => front.stop())));

  const pairs = names.flatMap((winner, index) => names.slice(index + 1).map((loser) => [winner, loser] as const));
  test.each(pairs)('%s over %s', async (winner, loser) => {
    Object.values(fronts).forEach((front) => front.clear());
    const given = new Set<Source>([winner, loser]);
    const options: Options = { ...(s3StoreOptions() as Options), endpoint: undefined };
    if (given.has('endpoints')) options.endpoints = [fronts.endpoints.url];
    if (given.has('endpoint')) options.endpoint = fronts.endpoint.url;
    const env = {
      S3_ENDPOINT_URIS: given.has('S3_ENDPOINT_URIS') ? fronts.S3_ENDPOINT_URIS.url : undefined,
      AWS_ENDPOINT_URL: given.has('AWS_ENDPOINT_URL') ? fronts.AWS_ENDPOINT_URL.url : undefined,
      AWS_ENDPOINT_URL_S3: undefined,
    };
    const uri = given.has('inline') ? `s3://${new URL(fronts.inline.url).host}/${bucket}/prec` : `${base}prec`;
    await withEnv(env, async () => {
      const store = s3dlio.storeFor('s3://', options);
      await store.put(uri, 'where');
    });
    expect(fronts[winner].requests.length).toBeGreaterThan(0);
    expect(fronts[loser].requests).toEqual([]);
  });

  test('AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL', async () => {
    Object.values(fronts).forEach((front) => front.clear());
    await withEnv(
      {
        AWS_ENDPOINT_URL_S3: fronts.endpoint.url,
        AWS_ENDPOINT_URL: fronts.AWS_ENDPOINT_URL.url,
        S3_ENDPOINT_URIS: undefined,
      },
      () =>
        s3dlio.storeFor('s3://', { ...(s3StoreOptions() as Options), endpoint: undefined }).put(`${base}prec2`, 'x'),
    );
    expect(fronts.endpoint.requests.length).toBeGreaterThan(0);
    expect(fronts.AWS_ENDPOINT_URL.requests).toEqual([]);
  });

  test('S3_ENDPOINT_URIS names several endpoints, comma-separated', async () => {
    Object.values(fronts).forEach((front) => front.clear());
    const list = `${fronts.endpoints.url}, ${fronts.endpoint.url}`;
    await withEnv({ S3_ENDPOINT_URIS: list, AWS_ENDPOINT_URL: undefined, AWS_ENDPOINT_URL_S3: undefined }, async () => {
      const store = s3dlio.storeFor('s3://', { ...(s3StoreOptions() as Options), endpoint: undefined });
      for (let i = 0; i < 4; i++) await store.put(`${base}env/${i}`, 'x');
      expect(store.stats().endpoints.map((entry) => [entry.endpoint, entry.requests])).toEqual([
        [fronts.endpoints.url, 2],
        [fronts.endpoint.url, 2],
      ]);
    });
  });
});

test('BatchError is what a putMany with every endpoint down reports, item by item', async () => {
  // No server needed: nothing listens on these ports.
  const store = s3dlio.storeFor('s3://', {
    endpoints: 'http://127.0.0.1:{1...2}',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    // Two attempts find both endpoints dead; the third has none left.
    maxAttempts: 3,
    retryBaseDelayMs: 1,
  });
  const error = await rejectionOf(store.putMany([{ uri: 's3://b-multi/a', data: 'a' }]));
  expect(error).toBeInstanceOf(BatchError);
  expect(error.errors.map((item: s3dlio.S3dlioError) => item.code)).toEqual(['ERR_NO_HEALTHY_ENDPOINT']);
});

function chunks<T>(items: readonly T[], count: number): T[][] {
  const out: T[][] = Array.from({ length: count }, () => []);
  items.forEach((item, index) => out[index % count].push(item));
  return out;
}
