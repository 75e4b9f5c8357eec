/**
 * list / listStream: full sorted URIs, directories as `.../` in non-recursive mode, recursion,
 * S3-like prefixes without a trailing slash, patterns relative to the prefix, missing prefixes,
 * and in-progress temp files never listed.
 */
import { mkdirSync, writeFileSync } from 'fs';

import { S3dlioError, listStream } from '../../lib';
import { apiMatrix, rejectionOf, sandbox } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir();

/**
 *   a.txt  b.txt  b/1.bin  b/2.txt  b/deep/3.bin  bc/4.bin  xb.txt  empty/  .keep
 *   + temp files of "in-progress" writes at two levels
 */
function makeTree(dir: string): void {
  mkdirSync(`${dir}/b/deep`, { recursive: true });
  mkdirSync(`${dir}/bc`);
  mkdirSync(`${dir}/empty`);
  for (const f of ['a.txt', 'b.txt', 'b/1.bin', 'b/2.txt', 'b/deep/3.bin', 'bc/4.bin', 'xb.txt', '.keep']) {
    writeFileSync(`${dir}/${f}`, f);
  }
  writeFileSync(`${dir}/.a.txt.s3dlio-1234-0123456789abcdef.tmp`, 'partial');
  writeFileSync(`${dir}/b/.new.bin.s3dlio-99999-fedcba9876543210.tmp`, 'partial');
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const uri of iterable) out.push(uri);
  return out;
}

describe.each(apiMatrix())('%s', (_label, scheme, api) => {
  let box: ReturnType<typeof sandbox>;
  let u: (rel?: string) => string;
  beforeAll(() => {
    box = sandbox(tmp.path, scheme, 'list');
    makeTree(box.dir);
    u = (rel = '') => box.uri(rel);
  });

  test('non-recursive: direct children, sorted full URIs, sub-directories end with /', async () => {
    expect(await api.list(u())).toEqual([
      u('.keep'),
      u('a.txt'),
      u('b.txt'),
      u('b/'),
      u('bc/'),
      u('empty/'),
      u('xb.txt'),
    ]);
  });

  test('non-recursive inside a sub-directory', async () => {
    expect(await api.list(u('b/'))).toEqual([u('b/1.bin'), u('b/2.txt'), u('b/deep/')]);
  });

  test('recursive: every file below the prefix, no directory entries, sorted', async () => {
    const all = await api.list(u(), { recursive: true });
    expect(all).toEqual([
      u('.keep'),
      u('a.txt'),
      u('b.txt'),
      u('b/1.bin'),
      u('b/2.txt'),
      u('b/deep/3.bin'),
      u('bc/4.bin'),
      u('xb.txt'),
    ]);
    expect(all).toEqual([...all].sort());
    expect(all.every((x) => x.startsWith(`${scheme}://`))).toBe(true);
  });

  test('a prefix without trailing slash works like an S3 key prefix (b/, b.txt, bc/ — not a.txt or xb.txt)', async () => {
    expect(await api.list(u('b'))).toEqual([u('b.txt'), u('b/'), u('bc/')]);
    expect(await api.list(u('b'), { recursive: true })).toEqual([
      u('b.txt'),
      u('b/1.bin'),
      u('b/2.txt'),
      u('b/deep/3.bin'),
      u('bc/4.bin'),
    ]);
    expect(await api.list(u('a.t'))).toEqual([u('a.txt')]);
    expect(await api.list(u('a.txt'))).toEqual([u('a.txt')]);
  });

  test('the sandbox directory itself without its trailing slash lists as one common prefix', async () => {
    expect(await api.list(box.uri().slice(0, -1))).toEqual([u()]);
  });

  test('pattern (RegExp) is matched against the path relative to the prefix', async () => {
    expect(await api.list(u(), { recursive: true, pattern: /\.bin$/ })).toEqual([
      u('b/1.bin'),
      u('b/deep/3.bin'),
      u('bc/4.bin'),
    ]);
    // anchored at the start of the relative path: 'b/...' matches, '.../b...' in the absolute path does not
    expect(await api.list(u(), { recursive: true, pattern: /^b\// })).toEqual([
      u('b/1.bin'),
      u('b/2.txt'),
      u('b/deep/3.bin'),
    ]);
    expect(await api.list(u('b/'), { recursive: true, pattern: /^deep\// })).toEqual([u('b/deep/3.bin')]);
    // non-recursive: directories are matched as 'name/'
    expect(await api.list(u(), { pattern: /\/$/ })).toEqual([u('b/'), u('bc/'), u('empty/')]);
  });

  test('pattern as a string is compiled as a regular expression', async () => {
    expect(await api.list(u(), { recursive: true, pattern: '^[ab]\\.txt$' })).toEqual([u('a.txt'), u('b.txt')]);
  });

  test('a global RegExp does not skip matches (lastIndex is not carried from one entry to the next)', async () => {
    const g = /txt/g;
    expect(await api.list(u(), { recursive: true, pattern: g })).toEqual([
      u('a.txt'),
      u('b.txt'),
      u('b/2.txt'),
      u('xb.txt'),
    ]);
    expect(g.lastIndex).toBe(0); // the caller's RegExp is not mutated either
  });

  test('an invalid pattern string is RangeError ERR_INVALID_ARG_VALUE; a non-pattern is TypeError', async () => {
    const bad = await rejectionOf(api.list(u(), { pattern: '([' }));
    expect(bad).toBeInstanceOf(RangeError);
    expect(bad).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(bad.message).toContain('options.pattern');
    const wrong = await rejectionOf(api.list(u(), { pattern: 42 as unknown as string }));
    expect(wrong).toBeInstanceOf(TypeError);
    expect(wrong).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  test('recursive must be a boolean', async () => {
    await expect(api.list(u(), { recursive: 'yes' as unknown as boolean })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
  });

  test('listing a missing prefix gives [] (like an empty prefix in a bucket)', async () => {
    expect(await api.list(u('no/such/dir/'))).toEqual([]);
    expect(await api.list(u('no/such/dir/'), { recursive: true })).toEqual([]);
    expect(await api.list(u('zzz'))).toEqual([]);
    expect(await api.list(u('a.txt/'))).toEqual([]);
  });

  test('an empty directory lists as []', async () => {
    expect(await api.list(u('empty/'))).toEqual([]);
    expect(await api.list(u('empty/'), { recursive: true })).toEqual([]);
  });

  test('in-progress temp files never appear (recursive or not, with or without pattern)', async () => {
    const everything = [
      ...(await api.list(u())),
      ...(await api.list(u(), { recursive: true })),
      ...(await api.list(u('b/'))),
      ...(await api.list(u('.a'))), // the prefix of the top-level temp file's name
      ...(await api.list(u(), { recursive: true, pattern: /tmp/ })),
    ];
    expect(everything.filter((x) => x.includes('.s3dlio-'))).toEqual([]);
    expect(await api.list(u(), { recursive: true, pattern: /tmp/ })).toEqual([]);
  });

  test('listStream is an AsyncIterable of the same URIs as list', async () => {
    const stream = api.listStream(u(), { recursive: true });
    expect(typeof stream[Symbol.asyncIterator]).toBe('function');
    const streamed = await collect(stream);
    expect([...streamed].sort()).toEqual(await api.list(u(), { recursive: true }));
    expect((await collect(api.listStream(u('b'), { pattern: /^c\// }))).sort()).toEqual([u('bc/')]);
    expect(await collect(api.listStream(u('missing/')))).toEqual([]);
  });

  test('breaking out of listStream early is fine', async () => {
    let seen = 0;
    for await (const uri of api.listStream(u(), { recursive: true })) {
      expect(uri.startsWith(u())).toBe(true);
      if (++seen === 2) break;
    }
    expect(seen).toBe(2);
  });
});

describe('listStream argument errors', () => {
  test('throws synchronously for a malformed URI or bad options (it returns an iterable, not a promise)', () => {
    expect(() => listStream('nope')).toThrow(S3dlioError);
    expect(() => listStream('nope')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_URI' }));
    expect(() => listStream(42 as unknown as string)).toThrow(TypeError);
    expect(() => listStream(tmp.uri('file'), { pattern: '(' })).toThrow(RangeError);
    expect(() => listStream(tmp.uri('file'), 'x' as unknown as object)).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARG_TYPE',
        message: 'Expected an object for `options` but received "x" of type string',
      }),
    );
  });
});
