/**
 * URIs and keys: a URI built from a bucket and a key parses back to exactly them (unicode,
 * spaces, %-escapes and many slashes are literal), parse → format → parse is the identity, any
 * string is a URI or ERR_INVALID_URI; the cloud key rules refuse exactly what they say. And no key
 * ever maps outside the directory a download writes to: it is placed below the root, or refused
 * with ERR_UNSAFE_PATH; end to end, downloads from gs:// (keys with `..`, `.`, empty segments,
 * backslashes…) and file:// never write a file anywhere but below the destination.
 */
import { mkdirSync, mkdtempSync, promises as fs, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import * as fc from 'fast-check';

import { configureDefaultStore, download, parseUri, put, S3dlioError, type ParsedUri } from '../../lib';
import { checkKey, forbiddenCharacter, keyRule, maxCharacters, maxUtf8Bytes } from '../../lib/backends/cloud/keys';
import { keySegments, LocalRoot } from '../../lib/internal/local-root';
import { localUri } from '../../lib/uri';
import { newBucketName, requiredEnv } from '../cloud/targets';
import { treeOf } from '../helpers/local';
import { propertyRuns } from '../helpers/properties';

let scratch = '';
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 's3dlio-prop-keys-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The URI of a parsed URI's parts (the inverse of parseUri, with the scheme as parseUri names it). */
function formatUri(parsed: ParsedUri): string {
  if (parsed.scheme === 'file' || parsed.scheme === 'direct') return localUri(parsed.scheme, parsed.path!);
  if (parsed.scheme === 'az') return `az://${parsed.account}/${parsed.bucket}/${parsed.key}`;
  return `${parsed.scheme}://${parsed.bucket}/${parsed.key}`;
}

/** What a parsed URI says, without the URI as given. */
function partsOf(parsed: ParsedUri): Partial<ParsedUri> {
  return { ...parsed, uri: undefined };
}

/** Characters that URL handling tends to get wrong, and any Unicode character. */
const keyText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  fc.constantFrom(
    ' ',
    '  x ',
    '%',
    '%20',
    '%2F',
    '%2e%2e',
    '+',
    '#frag',
    '?q=1&r=2',
    'é',
    'e\u0301',
    '😀',
    '\u2028',
    '~',
  ),
);

/** A segment of a key: no `/`, no NUL (which no URI may hold). */
const segment = keyText.map((text) => text.replace(/[/\0]/g, '_'));

/** Keys with many slashes: empty segments, leading and trailing slashes. */
const cloudKey = fc.array(segment, { maxLength: 8 }).map((segments) => segments.join('/'));

/** A bucket, container or account name as parseUri splits it: no `/`, no `@`. */
const bucketName = fc.string({ unit: 'binary', maxLength: 12 }).map((text) => text.replace(/[/@\0]/g, '-'));

/** The scheme as the user may spell it (any case; gcs:// is gs://). */
const cloudScheme = fc
  .tuple(fc.constantFrom('s3', 'gs', 'gcs', 'az'), fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }))
  .map(([scheme, upper]) => [...scheme].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));

describe('parseUri', () => {
  test('a cloud URI built from bucket and key parses back to exactly that bucket and key', () => {
    fc.assert(
      fc.property(cloudScheme, bucketName, bucketName, cloudKey, (scheme, account, bucket, key) => {
        const lower = scheme.toLowerCase();
        if (lower === 'az' && account === '') account = 'account';
        const rest = lower === 'az' ? `${account}/${bucket}/${key}` : `${bucket}/${key}`;
        const parsed = parseUri(`${scheme}://${rest}`);
        expect(parsed.uri).toBe(`${lower}://${rest}`);
        expect(parsed.scheme).toBe(lower === 'gcs' ? 'gs' : lower);
        expect(parsed.bucket).toBe(bucket);
        expect(parsed.key).toBe(key);
        if (lower === 'az') expect(parsed.account).toBe(account);
      }),
      propertyRuns(500),
    );
  });

  test('parse → format → parse is the identity (cloud and local URIs)', () => {
    const localPath = fc
      .array(segment, { maxLength: 8 })
      .map((segments) => `/${segments.map((s) => (s === '.' || s === '..' ? `${s}x` : s)).join('/')}`);
    const anyUri = fc.oneof(
      fc
        .tuple(cloudScheme, bucketName, cloudKey)
        .map(([scheme, bucket, key]) =>
          scheme.toLowerCase() === 'az' ? `${scheme}://a${bucket}/${key}` : `${scheme}://${bucket}/${key}`,
        ),
      fc.tuple(fc.constantFrom('file', 'direct', 'FILE'), localPath).map(([scheme, p]) => `${scheme}://${p}`),
    );
    fc.assert(
      fc.property(anyUri, (uri) => {
        const first = parseUri(uri);
        const formatted = formatUri(first);
        const second = parseUri(formatted);
        expect(partsOf(second)).toEqual(partsOf(first));
        expect(formatUri(second)).toBe(formatted);
      }),
      propertyRuns(500),
    );
  });

  test('any string is a URI or ERR_INVALID_URI (NUL, lone surrogates, `.`/`..` in local paths always refused)', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
      // Lone surrogates and NUL inside otherwise good URIs.
      fc
        .tuple(
          fc.constantFrom('s3://b/', 'file:///d/', 'az://acct/c/', 'gs://b/'),
          fc.string({ unit: 'binary-ascii' }),
          fc.constantFrom('\0', '\uD800', '\uDFFF', '/../x', '/./x', '/..'),
        )
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(text, (uri) => {
        let parsed: ParsedUri | undefined;
        try {
          parsed = parseUri(uri);
        } catch (error) {
          expect(error).toBeInstanceOf(S3dlioError);
          expect(error).toMatchObject({ code: 'ERR_INVALID_URI' });
          return;
        }
        expect(uri).not.toContain('\0');
        expect(/[\uD800-\uDFFF]/u.test(uri.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))).toBe(false);
        if (parsed.path !== undefined)
          expect(parsed.path.split('/')).not.toContainEqual(expect.stringMatching(/^\.\.?$/));
      }),
      propertyRuns(500),
    );
  });
});

// eslint-disable-next-line no-control-regex -- control characters are what is matched
const CONTROL = /[\u0000-\u001F]/;

describe('cloud key rules (lib/backends/cloud/keys.ts)', () => {
  test('each rule refuses exactly the keys it describes; checkKey throws ERR_INVALID_URI with the first reason', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.nat(40), (key, limit) => {
        const bytes = maxUtf8Bytes(limit, 'S');
        const characters = maxCharacters(limit, 'S');
        const control = forbiddenCharacter(CONTROL, 'S', 'refuses');
        const dots = keyRule((k) => k === '.' || k === '..', 'dots');
        expect(bytes(key) !== undefined).toBe(Buffer.byteLength(key, 'utf8') > limit);
        expect(characters(key) !== undefined).toBe(key.length > limit);
        expect(control(key) !== undefined).toBe([...key].some((c) => c.charCodeAt(0) < 0x20));
        expect(dots(key) !== undefined).toBe(key === '.' || key === '..');
        const rules = [bytes, control, dots];
        const reason = rules.map((rule) => rule(key)).find((r) => r !== undefined);
        const uri = `s3://bucket/${key}`;
        if (reason === undefined) {
          expect(() => checkKey(uri, key, rules)).not.toThrow();
        } else {
          expect(() => checkKey(uri, key, rules)).toThrow(
            expect.objectContaining({
              code: 'ERR_INVALID_URI',
              uri,
              message: `Invalid URI ${JSON.stringify(uri)}: ${reason}`,
            }),
          );
        }
      }),
      propertyRuns(500),
    );
  });
});

// --- no key maps outside its root -----------------------------------------------------------------

/** Keys built to escape: `..`, `.`, empty segments, leading `/`, backslashes, NUL, Unicode. */
const hostileKey = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '..',
        '.',
        '',
        '...',
        '\\',
        '..\\..',
        'a\\..',
        '\0',
        'x\0y',
        'a',
        'b c',
        'é',
        '😀',
        '%2e%2e',
        '~',
      ),
      fc.string({ unit: 'binary', maxLength: 6 }).map((s) => s.replace(/\//g, '')),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .chain((segments) => fc.constantFrom(segments.join('/'), `/${segments.join('/')}`, `${segments.join('/')}/`));

/** Keys that climb out of their directory (`a/../../x`), were `..` ever followed. */
const escapingKey = fc
  .tuple(fc.constantFrom('', 'a/', 'a/b/'), fc.integer({ min: 1, max: 3 }), fc.constantFrom('x', 'escape.txt', 'd/y'))
  .map(([down, ups, name]) => `${down}${'../'.repeat(ups)}${name}`);

/** Any of the above: at most 6 `..` segments. */
const anyKey = fc.oneof(hostileKey, escapingKey);

/**
 * A destination 7 levels below a fresh directory, so that a key escaping it by up to 6 levels
 * (were it followed) still lands inside that directory, where the test sees it.
 */
function nestedDestination(label: string): { outer: string; dest: string } {
  const outer = mkdtempSync(path.join(scratch, `${label}-`));
  return { outer, dest: path.join(outer, 'l1/l2/l3/l4/l5/l6/l7') };
}

/** Entries of `outer` (files and directories) that are not `dest` or below it. */
function outside(outer: string, dest: string): string[] {
  const relative = path.relative(outer, dest);
  const ancestor = (entry: string): boolean => entry.endsWith('/') && `${relative}/`.startsWith(entry);
  return treeOf(outer).filter((entry) => !ancestor(entry) && !entry.startsWith(`${relative}/`));
}

/** Whether `key` has a segment that could leave the root, or is otherwise unusable as a path. */
function unsafeKey(key: string): boolean {
  return (
    key === '' || key.includes('\0') || key.includes('\\') || key.split('/').some((s) => ['', '.', '..'].includes(s))
  );
}

/** True when `candidate` is strictly below `root`. */
function isBelow(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '' && relative !== '..' && !relative.startsWith('../') && !path.isAbsolute(relative);
}

describe('keys below a destination root', () => {
  test('keySegments: refuses exactly the keys with `..`, `.`, empty segments, backslashes or NUL; the rest join below the root', () => {
    const root = '/data/dest';
    fc.assert(
      fc.property(anyKey, (key) => {
        let segments: string[];
        try {
          segments = keySegments(root, key, `s3://b/${key}`, 'download');
        } catch (error) {
          expect(error).toBeInstanceOf(S3dlioError);
          expect(error).toMatchObject({ code: 'ERR_UNSAFE_PATH', operation: 'download' });
          expect(unsafeKey(key)).toBe(true);
          return;
        }
        expect(unsafeKey(key)).toBe(false);
        expect(segments.join('/')).toBe(key);
        expect(isBelow(root, path.join(root, ...segments))).toBe(true);
      }),
      propertyRuns(1000),
    );
  });

  test('LocalRoot.place: a file written where it says lands below the root, or the key is ERR_UNSAFE_PATH', async () => {
    const { outer, dest } = nestedDestination('place');
    mkdirSync(dest, { recursive: true });
    const root = await LocalRoot.open(dest);
    try {
      await fc.assert(
        fc.asyncProperty(anyKey, async (key) => {
          let placed;
          try {
            placed = await root.place(key, `s3://b/${key}`, 'download');
          } catch (error) {
            // A key that names an existing file as a directory is refused too, with its own code.
            expect(error).toBeInstanceOf(S3dlioError);
            expect(['ERR_UNSAFE_PATH', 'ERR_ALREADY_EXISTS']).toContain((error as S3dlioError).code);
            if ((error as S3dlioError).code === 'ERR_UNSAFE_PATH') expect(unsafeKey(key)).toBe(true);
            return;
          }
          try {
            expect(unsafeKey(key)).toBe(false);
            expect(isBelow(root.path, placed.displayPath)).toBe(true);
            await fs.rm(placed.path, { recursive: true, force: true }); // a directory of an earlier key
            await fs.writeFile(placed.path, key);
            expect(isBelow(root.path, await fs.realpath(placed.path))).toBe(true);
            expect(readFileSync(placed.displayPath, 'utf8')).toBe(key);
          } finally {
            await placed.release();
          }
        }),
        propertyRuns(200),
      );
    } finally {
      await root.close();
    }
    expect(outside(outer, dest)).toEqual([]);
  });
});

describe('downloads write below the destination only (end to end)', () => {
  /** A set of keys none of which is a directory of another (`a` and `a/b` cannot both be files). */
  const keySet = (key: fc.Arbitrary<string>) =>
    fc
      .uniqueArray(key, { minLength: 1, maxLength: 6 })
      .map((keys) => keys.filter((k) => !keys.some((other) => other !== k && other.startsWith(`${k}/`))));

  test('gs:// objects with hostile keys: safe keys written below the directory, the others ERR_UNSAFE_PATH', async () => {
    const store = configureDefaultStore('gs://', {
      endpoint: requiredEnv('S3DLIO_TEST_GCS_ENDPOINT'),
      projectId: 'test',
      retryBaseDelayMs: 20,
    });
    const bucket = `gs://${newBucketName('prop-keys')}/`;
    await store.createBucket(bucket);
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(keySet(anyKey), async (keys) => {
          const prefix = `${bucket}run-${++run}/`;
          const stored: string[] = [];
          for (const key of keys) {
            // What the service cannot store (parseUri or GCS rules: NUL, '.', '..', CR, LF…) is not stored.
            const refused = await store.put(`${prefix}${key}`, key).then(
              () => false,
              (error: unknown) => (error as S3dlioError).code === 'ERR_INVALID_URI',
            );
            if (!refused) stored.push(key);
          }
          const { outer, dest } = nestedDestination('gs');
          const result = await download(prefix, dest, { continueOnError: true });
          const failedKeys = result.failed.map((failure) => failure.uri.slice(prefix.length)).sort();
          expect(result.failed.every((failure) => failure.error.code === 'ERR_UNSAFE_PATH')).toBe(true);
          expect(failedKeys).toEqual(stored.filter(unsafeKey).sort());
          for (const key of stored.filter((k) => !unsafeKey(k))) {
            expect(readFileSync(path.join(dest, key), 'utf8')).toBe(key);
          }
          // Nothing beside the destination, and below it exactly the safe keys' files.
          expect(outside(outer, dest)).toEqual([]);
          const files = treeOf(outer).filter((entry) => !entry.endsWith('/'));
          expect(files.map((file) => path.relative(dest, path.join(outer, file))).sort()).toEqual(
            stored.filter((k) => !unsafeKey(k)).sort(),
          );
        }),
        propertyRuns(12),
      );
    } finally {
      await store.deleteBucket(bucket, { force: true });
    }
  });

  test('file:// trees with Unicode, spaces and %-escapes: the same tree below the destination, nothing elsewhere', async () => {
    const safeSegment = segment.map((s) => (s === '' || s === '.' || s === '..' ? `${s}x` : s).replace(/\\/g, '_'));
    const safeKey = fc.array(safeSegment, { minLength: 1, maxLength: 4 }).map((segments) => segments.join('/'));
    await fc.assert(
      fc.asyncProperty(keySet(safeKey), async (keys) => {
        const source = mkdtempSync(path.join(scratch, 'source-'));
        for (const key of keys) await put(`file://${source}/${key}`, key);
        const { outer, dest } = nestedDestination('file');
        const result = await download(`file://${source}/`, dest);
        expect(result.objects).toBe(keys.length);
        expect(outside(outer, dest)).toEqual([]);
        const files = treeOf(outer).filter((entry) => !entry.endsWith('/'));
        expect(files.map((file) => path.relative(dest, path.join(outer, file))).sort()).toEqual([...keys].sort());
        for (const key of keys) expect(readFileSync(path.join(dest, key), 'utf8')).toBe(key);
      }),
      propertyRuns(8),
    );
  });
});
