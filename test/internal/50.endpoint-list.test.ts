/**
 * How users write the endpoints of a multi-endpoint store: lists, range templates, files, and
 * S3_ENDPOINT_URIS. Each form expands to distinct http(s) roots in a stable order; every mistake
 * is one line of ERR_INVALID_ARG_VALUE naming the option, and never repeats a credential.
 */
import { writeFileSync } from 'fs';
import * as path from 'path';

import * as s3dlio from '../../lib';
import { endpointList, expandTemplate, MAX_ENDPOINTS } from '../../lib/backends/cloud/endpoints/endpoint-list';
import { withEnv } from '../helpers/env';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-endpoints-');

describe('the forms of options.endpoints', () => {
  test('a list of URLs: each an http(s) root, in the order given', () => {
    expect(endpointList(['http://A.example:9000/', 'https://b.example', ' http://[::1]:9000 '], 'e')).toEqual([
      'http://a.example:9000',
      'https://b.example',
      'http://[::1]:9000',
    ]);
  });

  test('a range template expands in order; a zero-padded start keeps its width', () => {
    expect(endpointList('http://10.0.0.{1...8}:9000', 'e')).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => `http://10.0.0.${n}:9000`),
    );
    expect(expandTemplate('http://node{08...11}.lan', 'e')).toEqual([
      'http://node08.lan',
      'http://node09.lan',
      'http://node10.lan',
      'http://node11.lan',
    ]);
    expect(endpointList('http://h{1...2}:{9000...9001}', 'e')).toEqual([
      'http://h1:9000',
      'http://h1:9001',
      'http://h2:9000',
      'http://h2:9001',
    ]);
  });

  test('a comma-separated string mixes URLs and templates', () => {
    expect(endpointList('http://a:1, http://b:{2...3},https://c', 'e')).toEqual([
      'http://a:1',
      'http://b:2',
      'http://b:3',
      'https://c',
    ]);
  });

  test('a file: one URL or template a line; blank lines and # comments are skipped', () => {
    const file = path.join(tmp.path, 'endpoints.txt');
    writeFileSync(file, '# rack 1\r\nhttp://r1-{1...2}:9000\r\n\n  http://r2-1:9000  # spare\n');
    expect(endpointList(file, 'e')).toEqual(['http://r1-1:9000', 'http://r1-2:9000', 'http://r2-1:9000']);
  });
});

describe('mistakes: one line each, naming the option', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'two dots',
      'http://h{1..8}:9000',
      /\{1\.\.8\} in "http:\/\/h\{1\.\.8\}:9000" is not a range; write \{first\.\.\.last\}/,
    ],
    ['letters', 'http://h{a...c}', /\{a\.\.\.c\} .* is not a range/],
    ['backwards', 'http://h{8...1}', /the range \{8\.\.\.1\} .* ends before it starts/],
    ['unclosed', 'http://h{1...8:9000', /unbalanced brace/],
    ['stray brace', 'http://h}1:9000', /unbalanced brace/],
    ['too many', `http://h{1...${MAX_ENDPOINTS + 1}}`, new RegExp(`more than ${MAX_ENDPOINTS} endpoints`)],
    ['too many as a product', 'http://h{1...64}:{1...64}', new RegExp(`more than ${MAX_ENDPOINTS} endpoints`)],
    ['twice', ['http://a:1', 'http://A:1/'], /names "http:\/\/a:1" twice/],
    ['a path', ['http://a:1/bucket'], /has a path or query; an endpoint is http\(s\):\/\/host\[:port\]/],
    ['a query', 'http://a:1/?x=1', /has a path or query/],
    ['another scheme', ['ftp://a:1'], /is not an http:\/\/ or https:\/\/ URL/],
    ['not a URL', ['http://a b'], /is not a URL/],
    ['empty list', [], /is empty: give at least one endpoint URL/],
    ['only commas', 'http://a:1,', /./], // a trailing comma is fine
    [
      'a missing file',
      path.join('/nonexistent', 'endpoints.txt'),
      /neither an http\(s\):\/\/ URL nor a readable file: .*ENOENT/,
    ],
  ];
  test.each(cases)('%s', (_label, value, message) => {
    if (_label === 'only commas') {
      expect(endpointList(value, 'options.endpoints')).toEqual(['http://a:1']);
      return;
    }
    let error: (Error & { code?: string }) | undefined;
    try {
      endpointList(value, 'options.endpoints');
    } catch (caught) {
      error = caught as Error & { code?: string };
    }
    expect(error).toBeInstanceOf(RangeError);
    expect(error?.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(error?.message).toMatch(/^`options\.endpoints`/);
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
  });

  test('a file that lists nothing, and a bad line named by its number', () => {
    const empty = path.join(tmp.path, 'empty.txt');
    writeFileSync(empty, '# nothing yet\n\n');
    expect(() => endpointList(empty, 'options.endpoints')).toThrow(/the file .*empty\.txt" lists no endpoint/);
    const bad = path.join(tmp.path, 'bad.txt');
    writeFileSync(bad, 'http://a:1\nhttp://b{1..2}\n');
    expect(() => endpointList(bad, 'options.endpoints')).toThrow(
      /^`options\.endpoints` \(.*bad\.txt, line 2\): \{1\.\.2\}/,
    );
  });

  test('a wrong type is a TypeError naming the entry', () => {
    expect(() => endpointList(['http://a:1', 42], 'options.endpoints')).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARG_TYPE',
        message: expect.stringContaining('options.endpoints[1]'),
      }),
    );
    expect(() => endpointList(42, 'options.endpoints')).toThrow(TypeError);
  });

  test('credentials in an endpoint URL are refused without repeating them', () => {
    for (const value of [['http://user:s3cr3t-pass@a:1'], 'http://user:s3cr3t-pass@a{1..2}']) {
      let message = '';
      try {
        endpointList(value, 'options.endpoints');
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain('s3cr3t-pass');
    }
  });
});

describe('the store options', () => {
  test('storeFor checks endpoints, endpointStrategy and healthCheck when the store is made', () => {
    const make = (options: s3dlio.StoreOptionsFor<'s3://'>) => () => s3dlio.storeFor('s3://', options);
    expect(make({ endpoints: 'http://h{1..2}' })).toThrow(/^`options\.endpoints`: \{1\.\.2\}/);
    expect(make({ endpoints: ['http://a:1'], endpointStrategy: 'random' as never })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARG_VALUE',
        message: expect.stringContaining('options.endpointStrategy'),
      }),
    );
    expect(make({ endpoints: ['http://a:1'], healthCheck: { probeIntervalMS: 5 } as never })).toThrow(
      /`probeIntervalMS` in `options.healthCheck` of a multi-endpoint store \(did you mean `probeIntervalMs`\?\)/,
    );
    expect(make({ endpoints: ['http://a:1'], healthCheck: { failuresToMarkDown: 0 } })).toThrow(
      /options\.healthCheck\.failuresToMarkDown/,
    );
    expect(make({ endpoints: ['http://a:1'], healthCheck: true as never })).toThrow(TypeError);
    // Checked even with one endpoint: a misspelling never waits for a second one to show.
    expect(make({ endpointStrategy: 'least-connection' as never })).toThrow(/options\.endpointStrategy/);
  });

  test('a bad S3_ENDPOINT_URIS names the variable', async () => {
    await withEnv({ S3_ENDPOINT_URIS: 'http://a:1,http://b{2...1}' }, async () => {
      expect(() => s3dlio.storeFor('s3://')).toThrow(/^`process\.env\.S3_ENDPOINT_URIS`: the range \{2\.\.\.1\}/);
    });
  });

  test('stats() of a multi-endpoint store lists every endpoint, up, before any request', () => {
    const store = s3dlio.storeFor('s3://', { endpoints: 'http://127.0.0.1:{9001...9003}' });
    expect(store.stats()).toMatchObject({ scheme: 's3', requests: 0, inFlight: 0, endpoints: expect.any(Array) });
    expect(store.stats().endpoints.map((entry) => [entry.endpoint, entry.health, entry.requests])).toEqual([
      ['http://127.0.0.1:9001', 'up', 0],
      ['http://127.0.0.1:9002', 'up', 0],
      ['http://127.0.0.1:9003', 'up', 0],
    ]);
    expect(Number.isNaN(store.stats().latencyMs.p50)).toBe(true);
  });
});
