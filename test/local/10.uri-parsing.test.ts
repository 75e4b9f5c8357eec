/**
 * URI parsing: accepted schemes, literal keys (no percent-decoding), and the typed errors for
 * every malformed URI, both from parseUri() and from the operations that take a URI.
 */
import { ACCEPTED_SCHEMES, S3dlioError, exists, get, list, parseUri, put, stat } from '../../lib';

describe('parseUri: well-formed URIs', () => {
  test('file:// and direct:// give the absolute path, the key without its leading slash, and no bucket', () => {
    expect(parseUri('file:///data/train/a.bin')).toMatchObject({
      uri: 'file:///data/train/a.bin',
      scheme: 'file',
      bucket: '',
      key: 'data/train/a.bin',
      path: '/data/train/a.bin',
    });
    expect(parseUri('direct:///mnt/nvme/x')).toMatchObject({
      scheme: 'direct',
      path: '/mnt/nvme/x',
      key: 'mnt/nvme/x',
    });
  });

  test('cloud URIs split bucket and key; gcs:// is an alias of gs://; Azure https URLs map to az', () => {
    expect(parseUri('s3://bucket/dir/key.bin')).toMatchObject({ scheme: 's3', bucket: 'bucket', key: 'dir/key.bin' });
    expect(parseUri('s3://bucket')).toMatchObject({ scheme: 's3', bucket: 'bucket', key: '' });
    expect(parseUri('gcs://b/k')).toMatchObject({ scheme: 'gs', bucket: 'b', key: 'k' });
    expect(parseUri('gs://b/k')).toMatchObject({ scheme: 'gs', bucket: 'b', key: 'k' });
    expect(parseUri('az://acct/container/a/b')).toMatchObject({
      scheme: 'az',
      account: 'acct',
      bucket: 'container',
      key: 'a/b',
    });
    expect(parseUri('https://acct.blob.core.windows.net/container/k')).toMatchObject({
      scheme: 'az',
      account: 'acct',
      bucket: 'container',
      key: 'k',
    });
  });

  test('the scheme is case-insensitive and normalised to lower case', () => {
    expect(parseUri('FILE:///tmp/x')).toMatchObject({ uri: 'file:///tmp/x', scheme: 'file', path: '/tmp/x' });
    expect(parseUri('Direct:///tmp/x').scheme).toBe('direct');
  });

  test('keys are literal: %, +, #, ?, spaces and unicode are part of the key, never decoded', () => {
    const weird = 'file:///d/a%20b+c#frag?q=1 x/données/𝔘%2e%2e';
    const parsed = parseUri(weird);
    expect(parsed.path).toBe('/d/a%20b+c#frag?q=1 x/données/𝔘%2e%2e');
    expect(parsed.key).toBe('d/a%20b+c#frag?q=1 x/données/𝔘%2e%2e');
    expect(parseUri('s3://b/k%2Fv?x#y').key).toBe('k%2Fv?x#y');
  });

  test('repeated slashes in a local path collapse as the kernel reads them (file://// is the root)', () => {
    expect(parseUri('file:////').path).toBe('/');
    expect(parseUri('direct:///tmp//a///b').path).toBe('/tmp/a/b');
    expect(parseUri('file:///tmp//a').key).toBe('tmp/a');
  });

  test('ACCEPTED_SCHEMES lists every prefix the parser takes', () => {
    expect([...ACCEPTED_SCHEMES]).toEqual(['s3://', 'az://', 'gs://', 'gcs://', 'file://', 'direct://', 'mem://']);
    for (const prefix of ACCEPTED_SCHEMES) {
      const uri = prefix.startsWith('file') || prefix.startsWith('direct') ? `${prefix}/x/y` : `${prefix}bucket/y`;
      expect(() => parseUri(uri)).not.toThrow();
    }
  });
});

describe('parseUri: malformed URIs are ERR_INVALID_URI with a reason', () => {
  const schemesText = ACCEPTED_SCHEMES.join(', ');

  test.each([
    ['nope', /expected a URI starting with one of/],
    ['/abs/no/scheme', /expected a URI starting with one of/],
    ['ftp://host/x', /expected a URI starting with one of/],
    ['file:/one/slash', /expected a URI starting with one of/],
    ['file://relative/x', /relative paths are not allowed; use file:\/\/\/absolute\/path/],
    ['direct://relative/x', /relative paths are not allowed; use direct:\/\/\/absolute\/path/],
    ['file://', /an empty path/],
    ['direct://', /an empty path/],
    ['az://', /missing the storage account/],
    ['file:///tmp/a\0b', /NUL character/],
  ])('%j', (uri, reason) => {
    let error: unknown;
    try {
      parseUri(uri);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(S3dlioError);
    expect(error).toMatchObject({ name: 'S3dlioError', code: 'ERR_INVALID_URI', uri });
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).toContain(JSON.stringify(uri));
  });

  test('an unknown scheme names every accepted scheme in the message', () => {
    expect(() => parseUri('ftp://x')).toThrow(`expected a URI starting with one of ${schemesText}`);
    expect(() => parseUri('http://example.com/x')).toThrow(schemesText);
  });

  test.each([
    'file:///tmp/a/../b',
    'file:///tmp/./b',
    'file:///tmp/..',
    'file:///..',
    'direct:///tmp/x/.',
    'direct:///tmp/../etc/passwd',
  ])("'.' and '..' path segments are refused: %s", (uri) => {
    expect(() => parseUri(uri)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_URI' }));
    expect(() => parseUri(uri)).toThrow("path segments '.' and '..' are not allowed");
  });

  test('dots inside a name are not segments: .hidden, a..b and ... are fine', () => {
    expect(parseUri('file:///tmp/.hidden/a..b/...').path).toBe('/tmp/.hidden/a..b/...');
  });

  test('a non-string URI is a TypeError ERR_INVALID_ARG_TYPE with a precise message', () => {
    expect(() => parseUri(42)).toThrow(new TypeError('Expected a string for `uri` but received 42 of type number'));
    expect(() => parseUri(42)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => parseUri(undefined)).toThrow('Expected a string for `uri` but received undefined of type undefined');
    expect(() => parseUri(null)).toThrow('Expected a string for `uri` but received null');
    expect(() => parseUri(new URL('file:///x'))).toThrow('Expected a string for `uri` but received an instance of URL');
  });

  test("'' is ERR_INVALID_URI naming the accepted schemes (an empty string is a malformed URI)", () => {
    expect(() => parseUri('')).toThrow(S3dlioError);
    expect(() => parseUri('')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_URI' }));
    expect(() => parseUri('')).toThrow(/empty.*s3:\/\/, az:\/\/, gs:\/\/, gcs:\/\/, file:\/\/, direct:\/\//);
  });
});

describe('operations reject (never throw) for malformed URIs, with the same typed errors', () => {
  test.each([
    ['nope', 'ERR_INVALID_URI'],
    ['/abs/no/scheme', 'ERR_INVALID_URI'],
    ['file://relative/x', 'ERR_INVALID_URI'],
    ['file://', 'ERR_INVALID_URI'],
    ['ftp://x', 'ERR_INVALID_URI'],
    ['file:///tmp/nul\0byte', 'ERR_INVALID_URI'],
    ['file:///tmp/a/../b', 'ERR_INVALID_URI'],
    ['', 'ERR_INVALID_URI'],
  ])('get/put/stat/exists/list(%j) → %s', async (uri, code) => {
    for (const call of [() => get(uri), () => put(uri, 'x'), () => stat(uri), () => exists(uri), () => list(uri)]) {
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = call())).not.toThrow();
      await expect(promise).rejects.toMatchObject({ code });
    }
  });

  test("a cloud URI without a bucket parses (it names a store) but object operations refuse it: 'missing the bucket'", async () => {
    expect(parseUri('s3://')).toMatchObject({ scheme: 's3', bucket: '', key: '' });
    // No request is made: the store validates the bucket before any I/O.
    for (const call of [() => get('s3://'), () => put('s3://', 'x'), () => stat('s3:///key'), () => exists('s3://')]) {
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = call())).not.toThrow();
      const error = await (promise as Promise<unknown>).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(S3dlioError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_URI' });
      expect((error as Error).message).toMatch(/missing the bucket/);
    }
  });

  test('a non-string URI rejects get() with TypeError "Expected a string for `uri` but received 42 of type number"', async () => {
    const error = await get(42 as unknown as string).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: 'Expected a string for `uri` but received 42 of type number',
    });
  });
});
