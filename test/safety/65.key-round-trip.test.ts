/**
 * Every legal key round-trips through every request type on every backend: put, get, getRange,
 * stat, exists, list (recursive and by delimiter, across pages), copy, rename, createWriter,
 * delete, deleteMany, deletePrefix. Keys with carriage returns, control characters, spaces at
 * either end, URL-special characters, both Unicode normal forms, the longest allowed length...
 * A key a service cannot store as written is refused before any request (ERR_INVALID_URI), never
 * stored, listed or deleted under another name.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { BatchError, type ObjectStore, S3dlioError, storeFor } from '../../lib';
import { azTarget, gsTarget, newBucketName, s3Target } from '../cloud/targets';
import { rejectionOf } from '../helpers/local';

/** Keys every backend must store exactly (local paths: no empty or dot segments). */
const PORTABLE_KEYS = [
  ' leading space',
  'trailing space ',
  'percent %41 %2F %',
  'plus+sign',
  'hash#fragment',
  'question?x=1&y=2',
  'xml &amp; <tag> "quoted" \'single\'',
  'semi;colon,comma:colon@at$dollar',
  'square[brackets]{braces}|pipe^caret`tick~',
  'line\u2028separator\u2029paragraph',
  'noncharacter\uFFFE\uFFFFend',
  'emoji😀 and 𝄞 (astral)',
  'max code point \u{10FFFF}',
  'nested/dir/with space/file',
  'dot.',
  '..dots',
  '.hidden',
];

/** Keys with characters some services refuse (see `refused` of each backend). */
const CONTROL_KEYS = [
  'carriage\rreturn',
  'crlf\r\nline',
  'line\nfeed',
  'tab\tseparated',
  'controls\u0001\u0008\u000B\u000C\u001F\u007F',
  'c1 controls\u0080\u0085\u009F',
  'back\\slash',
];

/** Keys that are paths with empty or dot segments (object stores only). */
const PATH_KEYS = ['a//double', '/leading-slash', 'x/./dot-segment', 'x/../dotdot-segment'];

interface Backend {
  name: string;
  store(options?: Record<string, unknown>): ObjectStore;
  /** A store whose requests would fail (to show a refusal happens before any request). */
  deadStore(): ObjectStore;
  bucketUri: string;
  /** Keys tried below a fresh prefix each. */
  keys: string[];
  /** Why the library refuses a key here (ERR_INVALID_URI, with this message), or undefined. */
  refused(key: string): RegExp | undefined;
  /** Whole keys (from the bucket root) refused with this message. */
  refusedWhole?: Array<[string, RegExp]>;
  /** The emulator cannot store it (the real service can): put must fail loudly, nothing stored. */
  emulatorCannot?(key: string): boolean;
  /** The longest key from the bucket root, and one character more. */
  longest: { ok: string; tooLong?: string };
}

const LOCAL_ROOT = mkdtempSync(path.join(tmpdir(), 's3dlio-keys-'));
afterAll(() => rmSync(LOCAL_ROOT, { recursive: true, force: true }));

/** `prefix` padded with `fill` (then ASCII) to exactly `bytes` bytes of UTF-8. */
function keyOfBytes(prefix: string, bytes: number, fill = 'é'): string {
  let key = prefix;
  while (Buffer.byteLength(key + fill) <= bytes) key += fill;
  while (Buffer.byteLength(key) < bytes) key += 'a';
  return key;
}

const cloudKeys = [...PORTABLE_KEYS, ...CONTROL_KEYS, ...PATH_KEYS];

const backends: Backend[] = [
  {
    name: 's3 (moto)',
    store: (options) => s3Target().store(options),
    deadStore: () => s3Target().store({ endpoint: 'http://127.0.0.1:1', maxAttempts: 1 }),
    bucketUri: `s3://${newBucketName('keys-s3')}/`,
    keys: cloudKeys,
    refused: () => undefined,
    // moto's URL routing does not match a path with a line feed in it: put answers 404.
    emulatorCannot: (key) => key.includes('\n'),
    longest: { ok: keyOfBytes('long/', 1024), tooLong: keyOfBytes('long/', 1025) },
  },
  {
    name: 'gs (test GCS server)',
    store: (options) => gsTarget().store(options),
    deadStore: () => gsTarget().store({ endpoint: 'http://127.0.0.1:1', maxAttempts: 1 }),
    bucketUri: `gs://${newBucketName('keys-gs')}/`,
    // Only the whole name may not be '.' or '..' or start with the ACME path.
    keys: [...cloudKeys, '.', '..', '.well-known/acme-challenge/token'],
    refused: (key) => (/[\r\n]/.test(key) ? /U\+000[AD], which GCS does not allow/ : undefined),
    refusedWhole: [
      ['.', /cannot be '\.' or '\.\.'/],
      ['..', /cannot be '\.' or '\.\.'/],
      ['.well-known/acme-challenge/token', /acme-challenge/],
    ],
    longest: { ok: keyOfBytes('long/', 1024), tooLong: keyOfBytes('long/', 1025) },
  },
  {
    name: 'az (Azurite)',
    store: (options) => azTarget().store(options),
    deadStore: () =>
      azTarget().store({
        connectionString:
          'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;',
        maxAttempts: 1,
      }),
    bucketUri: `az://devstoreaccount1/${newBucketName('keys-az')}/`,
    // Below a one- or two-segment prefix (case-N/, copy/): at most 254 segments in all; then 255.
    keys: [...cloudKeys, 'x/.', `${'s/'.repeat(251)}last`, `${'s/'.repeat(253)}last`],
    refused: (key) =>
      // eslint-disable-next-line no-control-regex -- control characters are what Azure refuses
      /[\u0000-\u001F\u007F-\u009F]/.test(key)
        ? /which Azure Blob Storage does not allow/
        : /[\uFFFE\uFFFF]/.test(key)
          ? /which Azure Blob Storage cannot list/
          : key.includes('\\')
            ? /stores as '\/'/
            : /(?:^|\/)\.\.?\//.test(key)
              ? /'\.' or '\.\.' path segment/
              : key.endsWith('.')
                ? /cannot end with '\.'/
                : key.split('/').length > 253
                  ? /254 path segments/
                  : undefined,
    // Azure counts characters, not bytes.
    longest: { ok: `long/${'é'.repeat(1019)}`, tooLong: `long/${'é'.repeat(1020)}` },
  },
  {
    name: 'file://',
    store: () => storeFor('file:///'),
    deadStore: () => storeFor('file:///'),
    bucketUri: `file://${LOCAL_ROOT}/`,
    keys: [...PORTABLE_KEYS, ...CONTROL_KEYS],
    refused: () => undefined,
    // A file name is at most 255 bytes.
    longest: { ok: keyOfBytes('long/', 'long/'.length + 255) },
  },
];

describe.each(backends.map((backend) => [backend.name, backend] as const))('%s', (_name, backend) => {
  const store = backend.store();
  const base = backend.bucketUri;
  let n = 0;
  /** A fresh prefix per case, so each listing holds only that case's objects. */
  const freshPrefix = (): string => `${base}case-${++n}/`;
  const text = async (uri: string): Promise<string> => Buffer.from(await store.get(uri)).toString();

  beforeAll(() => store.createBucket(base));
  afterAll(() => store.deleteBucket(base, { force: true }));

  /** The whole round trip of one key; its content names it, so a mix-up cannot pass. */
  async function roundTrip(key: string): Promise<void> {
    const prefix = freshPrefix();
    const uri = `${prefix}${key}`;
    const content = `content of ${JSON.stringify(key)}`;
    if (backend.emulatorCannot?.(key)) {
      const failure = await rejectionOf(store.put(uri, content));
      expect(failure).toBeInstanceOf(S3dlioError);
      expect(await store.list(prefix, { recursive: true })).toEqual([]);
      return;
    }
    await store.put(uri, content);
    expect(await text(uri)).toBe(content);
    expect(Buffer.from(await store.getRange(uri, 1, 6)).toString()).toBe(content.slice(1, 7));
    expect((await store.stat(uri)).size).toBe(Buffer.byteLength(content));
    expect(await store.exists(uri)).toBe(true);
    expect(await store.list(prefix, { recursive: true })).toEqual([uri]);
    const slash = key.indexOf('/');
    expect(await store.list(prefix)).toEqual([slash < 0 ? uri : `${prefix}${key.slice(0, slash + 1)}`]);
    // Copies and renames whose both ends carry the key.
    await store.copy(uri, `${prefix}copy/${key}`);
    await store.rename(`${prefix}copy/${key}`, `${prefix}renamed/${key}`);
    expect(await text(`${prefix}renamed/${key}`)).toBe(content);
    expect(await store.exists(`${prefix}copy/${key}`)).toBe(false);
    const writer = store.createWriter(`${prefix}written/${key}`);
    await writer.write(content);
    await writer.close();
    expect(await text(`${prefix}written/${key}`)).toBe(content);
    expect((await store.list(prefix, { recursive: true })).sort()).toEqual(
      [uri, `${prefix}renamed/${key}`, `${prefix}written/${key}`].sort(),
    );
    await store.delete(`${prefix}renamed/${key}`);
    expect(await store.deleteMany([`${prefix}written/${key}`])).toBe(1);
    expect(await store.exists(`${prefix}written/${key}`)).toBe(false);
    expect(await store.list(prefix, { recursive: true })).toEqual([uri]);
    // What the listing said is what gets deleted: the object is gone, not just reported deleted.
    expect(await store.deletePrefix(prefix)).toBe(1);
    expect(await store.exists(uri)).toBe(false);
    expect(await store.list(prefix, { recursive: true })).toEqual([]);
  }

  /** Every operation refuses the key before sending anything (a dead endpoint would say otherwise). */
  async function refusedEverywhere(uri: string, reason: RegExp): Promise<void> {
    const dead = backend.deadStore();
    const other = `${base}refused/plain`;
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['put', () => dead.put(uri, 'x')],
      ['get', () => dead.get(uri)],
      ['getRange', () => dead.getRange(uri, 0, 1)],
      ['stat', () => dead.stat(uri)],
      ['exists', () => dead.exists(uri)],
      ['delete', () => dead.delete(uri)],
      ['copy', () => dead.copy(other, uri)],
      ['rename', () => dead.rename(uri, other)],
      ['getMany', () => dead.getMany([uri])],
      ['deleteMany', () => dead.deleteMany([uri])],
      ['createWriter', async () => dead.createWriter(uri)],
    ];
    for (const [operation, attempt] of attempts) {
      const error = await rejectionOf(attempt());
      expect({ operation, code: error.code as unknown }).toEqual({ operation, code: 'ERR_INVALID_URI' });
      expect(String(error.message)).toMatch(reason);
    }
  }

  test.each(backend.keys.map((key) => [JSON.stringify(key), key] as const))('key %s', async (_label, key) => {
    const reason = backend.refused(key);
    if (reason) await refusedEverywhere(`${base}refused/${key}`, reason);
    else await roundTrip(key);
  });

  if (backend.refusedWhole) {
    test.each(backend.refusedWhole.map(([key, reason]) => [JSON.stringify(key), key, reason] as const))(
      'whole key %s is refused',
      (_label, key, reason) => refusedEverywhere(`${base}${key}`, reason),
    );
  }

  test('NFC and NFD forms are two keys, each with its own object', async () => {
    const prefix = freshPrefix();
    const nfc = `${prefix}${'café'.normalize('NFC')}`;
    const nfd = `${prefix}${'café'.normalize('NFD')}`;
    expect(nfc).not.toBe(nfd);
    await store.put(nfc, 'composed');
    await store.put(nfd, 'decomposed');
    expect(await text(nfc)).toBe('composed');
    expect(await text(nfd)).toBe('decomposed');
    expect((await store.list(prefix)).sort()).toEqual([nfc, nfd].sort());
    await store.delete(nfd);
    expect(await text(nfc)).toBe('composed');
    expect(await store.deletePrefix(prefix)).toBe(1);
    expect(await store.list(prefix)).toEqual([]);
  });

  test('the longest key round-trips; one character more is refused up front', async () => {
    const uri = `${base}${backend.longest.ok}`;
    // Siblings of the same length or shorter: the last character replaced.
    const sibling = (mark: string): string => `${uri.slice(0, -1)}${mark}`;
    await store.put(uri, 'long');
    expect(await text(uri)).toBe('long');
    expect((await store.stat(uri)).size).toBe(4);
    expect(await store.list(`${base}long/`, { recursive: true })).toEqual([uri]);
    await store.copy(uri, sibling('B'));
    await store.rename(sibling('B'), sibling('C'));
    const writer = store.createWriter(sibling('D'));
    await writer.write('long');
    await writer.close();
    expect((await store.list(`${base}long/`, { recursive: true })).sort()).toEqual(
      [uri, sibling('C'), sibling('D')].sort(),
    );
    await store.delete(sibling('C'));
    expect(await store.deleteMany([sibling('D')])).toBe(1);
    expect(await store.deletePrefix(`${base}long/`)).toBe(1);
    expect(await store.exists(uri)).toBe(false);
    if (backend.longest.tooLong !== undefined) {
      await refusedEverywhere(`${base}${backend.longest.tooLong}`, /keys are at most/);
    }
  });

  test('many such keys at once: listed exactly across small pages, then all deleted by deleteMany and deletePrefix', async () => {
    const paged = backend.store({ pageSize: 3 });
    const prefix = freshPrefix();
    const keys = backend.keys.filter((key) => !backend.refused(key) && !backend.emulatorCannot?.(key));
    const uris = keys.map((key) => `${prefix}${key}`);
    await paged.putMany(uris.map((uri) => ({ uri, data: uri })));
    expect((await paged.list(prefix, { recursive: true })).sort()).toEqual([...uris].sort());
    // Half by name (one DeleteObjects request on S3, plus single deletes for what XML cannot carry)...
    const half = uris.filter((_, index) => index % 2 === 0);
    await paged.deleteMany(half).catch((error: unknown) => {
      throw error instanceof BatchError ? new Error(error.errors.map(String).join('\n')) : error;
    });
    const rest = uris.filter((_, index) => index % 2 === 1);
    expect((await paged.list(prefix, { recursive: true })).sort()).toEqual([...rest].sort());
    // ...the rest by prefix: the count is what is really gone.
    expect(await paged.deletePrefix(prefix)).toBe(rest.length);
    expect(await paged.list(prefix, { recursive: true })).toEqual([]);
    for (const uri of rest) expect(await paged.exists(uri)).toBe(false);
  });
});

test('a lone surrogate (no UTF-8 form) is refused on every scheme before any request', async () => {
  const cases = [
    ['s3://', 's3://bucket/a\uD800b'],
    ['gs://', 'gs://bucket/\uDC00'],
    ['az://acct/', 'az://acct/cont/x\uDBFF'],
    ['file:///', 'file:///tmp/\uD800'],
  ];
  for (const [scheme, uri] of cases) {
    const store = storeFor(scheme, {});
    const error = await rejectionOf(store.put(uri, 'x'));
    expect(error).toMatchObject({ code: 'ERR_INVALID_URI' });
    expect(String(error.message)).toMatch(/lone UTF-16 surrogate/);
  }
});
