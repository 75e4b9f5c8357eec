/**
 * parseUri and bucketUriOf as a table: each accepted spelling and what it means (scheme case, the
 * Azure https form with and without a container, doubled slashes in local paths), and each refused
 * one with its reason. test/local/10 drives the same rules through every API call.
 */
import { bucketUriOf, parseUri } from '../../lib/uri';
import { thrownBy } from '../helpers/local';

describe('accepted spellings', () => {
  test.each([
    ['S3://Bucket/Key', { uri: 's3://Bucket/Key', scheme: 's3', bucket: 'Bucket', key: 'Key' }],
    ['GS://b/k/', { uri: 'gs://b/k/', scheme: 'gs', bucket: 'b', key: 'k/' }],
    ['s3://', { uri: 's3://', scheme: 's3', bucket: '', key: '' }],
    ['az://acct/cont/a/b', { uri: 'az://acct/cont/a/b', scheme: 'az', account: 'acct', bucket: 'cont', key: 'a/b' }],
    ['az://acct', { uri: 'az://acct', scheme: 'az', account: 'acct', bucket: '', key: '' }],
    [
      'https://acct.blob.core.windows.net/cont/dir/key',
      { uri: 'az://acct/cont/dir/key', scheme: 'az', account: 'acct', bucket: 'cont', key: 'dir/key' },
    ],
    ['https://acct.blob.core.windows.net/cont', { uri: 'az://acct/cont', account: 'acct', bucket: 'cont', key: '' }],
    ['HTTPS://Acct.Blob.Core.Windows.Net', { uri: 'az://Acct/', scheme: 'az', account: 'Acct', bucket: '', key: '' }],
    ['file:///a//b///c', { uri: 'file:///a//b///c', scheme: 'file', key: 'a/b/c', path: '/a/b/c' }],
    ['FILE:////', { uri: 'file:////', scheme: 'file', key: '', path: '/' }],
    ['direct:///x/y', { uri: 'direct:///x/y', scheme: 'direct', key: 'x/y', path: '/x/y' }],
  ])('%s', (input, expected) => {
    expect(parseUri(input)).toMatchObject(expected);
  });
});

describe('refused spellings', () => {
  test.each([
    ['s3://b/\ud800x', 'lone UTF-16 surrogate'],
    ['s3://b/x\udc00', 'lone UTF-16 surrogate'],
    ['s3://b/k\0', 'NUL'],
    ['', 'an empty string'],
    ['ftp://b/k', 'expected a URI starting with one of'],
    ['s3:/b/k', 'expected a URI starting with one of'],
    ['az:///c/k', 'missing the storage account'],
    ['file://relative/p', 'relative paths are not allowed'],
    ['file://', 'an empty path'],
    ['file:///a/../b', "'.' and '..'"],
  ])('%j: %s', (input, reason) => {
    expect(thrownBy(() => parseUri(input))).toMatchObject({
      code: 'ERR_INVALID_URI',
      message: expect.stringContaining(reason),
    });
  });

  test('credentials in a URI are refused without being shown', () => {
    const error = thrownBy(() => parseUri('s3://user:pw-secret@bucket/k'));
    expect(error).toMatchObject({ code: 'ERR_INVALID_URI', message: expect.stringContaining('credentials') });
    expect(error.message).not.toContain('pw-secret');
    expect(thrownBy(() => parseUri('az://user@acct/c/k'))).toMatchObject({ code: 'ERR_INVALID_URI' });
  });

  test('a supplementary character (a valid surrogate pair) is accepted', () => {
    expect(parseUri('s3://b/😀.txt').key).toBe('😀.txt');
  });
});

describe('bucketUriOf', () => {
  test.each([
    ['s3://b/k', 's3://b/'],
    ['S3://B/k/deeper', 's3://B/'],
    ['gs://b', 'gs://b/'],
    ['az://acct/cont/x/y', 'az://acct/cont/'],
    ['https://acct.blob.core.windows.net/cont/x', 'az://acct/cont/'],
    ['file:///x/y', 'file:///x/y'],
  ])('%s → %s', (input, bucket) => {
    expect(bucketUriOf(input)).toBe(bucket);
  });
});
