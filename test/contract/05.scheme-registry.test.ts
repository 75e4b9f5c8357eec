/**
 * The scheme registry: `registerStore` adds a backend with one line (the URI parser, the list of
 * accepted schemes and its messages follow), and refuses what would make two backends share a
 * spelling.
 */
import { ACCEPTED_SCHEMES, S3dlioError, get, parseUri, put, registerStore, storeFor } from '../../lib';
import { MemoryStore } from '../../lib/backends/memory';
import { type Scheme, isLocalScheme } from '../../lib/uri';

/** A backend of its own: the in-memory store under another scheme, registered by one line. */
class CacheStore extends MemoryStore {
  override readonly scheme = 'cache' as Scheme;
}
registerStore('cache', () => new CacheStore(), { aliases: ['cache2'] });

test('a registered scheme is parsed, listed, and served by the module-level API', async () => {
  expect(ACCEPTED_SCHEMES).toEqual(expect.arrayContaining(['cache://', 'cache2://']));
  expect(parseUri('CACHE2://b/k')).toMatchObject({ scheme: 'cache', bucket: 'b', key: 'k' });
  expect(storeFor('cache://b/k')).toBeInstanceOf(CacheStore);
  expect(storeFor('cache://b/k')).toBe(storeFor('cache2://other'));
  await storeFor('cache://').createBucket('cache://b');
  await put('cache://b/k', 'cached');
  expect(Buffer.from(await get('cache://b/k')).toString()).toBe('cached');
  expect(await storeFor('cache://').list('cache://b/')).toEqual(['cache://b/k']);
});

test('an unknown scheme is ERR_INVALID_URI naming every registered one', () => {
  let error: unknown;
  try {
    parseUri('nope://b/k');
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toBeInstanceOf(S3dlioError);
  expect((error as S3dlioError).code).toBe('ERR_INVALID_URI');
  for (const prefix of ['s3://', 'mem://', 'cache://', 'cache2://']) expect((error as Error).message).toContain(prefix);
});

test.each([
  ['a taken scheme', 's3', {}, /a scheme not registered yet/],
  ['a taken alias', 'fresh1', { aliases: ['gcs'] }, /a scheme not registered yet/],
  ['an alias equal to the scheme', 'fresh8', { aliases: ['fresh8'] }, /a scheme not registered yet/],
  ['one alias twice', 'fresh9', { aliases: ['f9', 'f9'] }, /a scheme not registered yet/],
  ['an upper-case name', 'Fresh2', {}, /lower-case URI scheme name/],
  ['an empty name', '', {}, /lower-case URI scheme name/],
  ['a name with "://"', 'fresh3://', {}, /lower-case URI scheme name/],
  ['a layout that does not exist', 'fresh4', { layout: 'flat' }, /options.layout/],
  ['aliases that are not an array', 'fresh5', { aliases: 'f5' }, /options.aliases/],
  ['a misspelled option', 'fresh6', { alias: ['f6'] }, /alias.*aliases/s],
])('registerStore refuses %s, and registers nothing', (_case, scheme, options, message) => {
  const before = [...ACCEPTED_SCHEMES];
  expect(() => registerStore(scheme, () => new MemoryStore(), options as never)).toThrow(message);
  expect([...ACCEPTED_SCHEMES]).toEqual(before);
});

test('registerStore refuses a factory that is not a function', () => {
  expect(() => registerStore('fresh7', 'MemoryStore' as never)).toThrow(TypeError);
  expect(() => parseUri('fresh7://b/k')).toThrow(/expected a URI starting with one of/);
});

test('the layout decides how URIs of the scheme read', () => {
  registerStore('pathy', () => new MemoryStore(), { layout: 'path' });
  registerStore('accounty', () => new MemoryStore(), { layout: 'account' });
  expect(parseUri('pathy:///a//b')).toMatchObject({ scheme: 'pathy', path: '/a/b', key: 'a/b', bucket: '' });
  expect(() => parseUri('pathy://relative')).toThrow(/relative paths are not allowed/);
  // Paths, but not this machine's filesystem: transfers go through its store, not fs.
  expect(isLocalScheme(parseUri('pathy:///a').scheme)).toBe(false);
  expect(isLocalScheme(parseUri('file:///a').scheme)).toBe(true);
  expect(parseUri('accounty://acct/cont/k')).toMatchObject({ account: 'acct', bucket: 'cont', key: 'k' });
});

test("storeFor types a URI's options by its scheme, and refuses another scheme's at run time too", () => {
  expect(storeFor('s3://bucket/', { region: 'us-east-1' })).not.toBe(storeFor('s3://'));
  expect(storeFor('mem://', { maxBytes: 1 })).toBeInstanceOf(MemoryStore);
  // @ts-expect-error region is an s3:// option, not a file:// one
  expect(() => storeFor('file:///tmp', { region: 'us-east-1' })).toThrow(/region/);
  // @ts-expect-error maxBytes is a mem:// option, not an s3:// one
  expect(() => storeFor('s3://bucket/', { maxBytes: 1 })).toThrow(/maxBytes/);
  // A URI whose scheme its type does not say takes the options of every scheme (checked at run time).
  const uri: string = 'file:///tmp';
  expect(() => storeFor(uri, { region: 'us-east-1' })).toThrow(/region/);
});
