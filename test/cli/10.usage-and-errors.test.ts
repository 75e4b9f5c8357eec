/**
 * The CLI's contract with scripts: help and version, one-line errors for bad input, and exit codes
 * (0 ok, 1 an object failed, 2 bad usage).
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { PassThrough } from 'stream';

import { Reporter } from '../../lib/cli/reporter';
import { isErrorCode } from '../../lib/errors';
import { REPO_ROOT } from '../helpers/child';
import { useTempDir } from '../helpers/temp';
import { cloudClis, jsonLines, runCli } from './cli';

const tmp = useTempDir('s3dlio-cli-usage-');
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};

/** A usage error: exit 2, one helpful line (plus commander's hint line at most), nothing on stdout. */
async function expectUsageError(args: string[], message: RegExp): Promise<void> {
  const result = await runCli(args);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^s3dlio: /);
  expect(lines[0]).toMatch(message);
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('the package bin', () => {
  test('package.json names bin/s3dlio.js as the s3dlio command', () => {
    expect(pkg.bin).toEqual({ s3dlio: 'bin/s3dlio.js' });
    expect(readFileSync(path.join(REPO_ROOT, 'bin', 's3dlio.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node/);
  });

  test('--version prints the package version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  test('--help lists every command and the global options', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const command of [
      'ls|list',
      'stat',
      'get',
      'put',
      'upload',
      'download',
      'cp',
      'mv',
      'sync',
      'rm|delete',
      'create-bucket',
      'delete-bucket',
      'list-buckets',
      'du|size',
      'cat',
      'create-bucket|mb',
      'delete-bucket|rb',
    ]) {
      expect(result.stdout).toContain(command);
    }
    for (const option of [
      '--endpoint-url',
      '--region',
      '--ca-bundle',
      '--op-log',
      '--verbose',
      '--json',
      '--no-progress',
      '--quiet',
      '--profile',
    ]) {
      expect(result.stdout).toContain(option);
    }
  });

  test('put --help shows its options', async () => {
    const result = await runCli(['put', '--help']);
    expect(result.code).toBe(0);
    for (const option of [
      '--objects',
      '--size',
      '--template',
      '--format',
      '--dedup',
      '--compress',
      '--jobs',
      '--create-bucket',
    ]) {
      expect(result.stdout).toContain(option);
    }
  });
});

describe('bad input: exit 2 with one helpful line', () => {
  test.each([
    ['an unknown scheme', ['ls', 'foo://bucket/x'], /Invalid URI "foo:\/\/bucket\/x".*s3:\/\//],
    ['an empty path', ['stat', ''], /an empty path or URI/],
    ['a relative file:// path', ['ls', 'file://relative/dir'], /relative paths are not allowed/],
    ['a .. segment', ['get', 'file:///tmp/../etc/passwd'], /'\.' and '\.\.' are not allowed/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['a missing argument', ['stat'], /missing required argument 'uri'/],
    ['an unknown option', ['ls', '--bogus', 'file:///tmp/'], /unknown option '--bogus'/],
    [
      'a bad size string',
      ['put', 'file:///tmp/x/', '-n', '1', '-s', '4XB'],
      /invalid --size '4XB': unknown unit 'XB'.*4KiB/,
    ],
    ['a negative size', ['put', 'file:///tmp/x/', '-n', '1', '-s', '-5'], /invalid --size '-5'|unknown option/],
    ['a fractional byte count', ['put', 'file:///tmp/x/', '-n', '1', '-s', '1.5'], /whole number of bytes/],
    ['a bad count', ['put', 'file:///tmp/x/', '-n', 'lots', '-s', '1KiB'], /invalid --objects 'lots'/],
    ['a missing required option', ['put', 'file:///tmp/x/', '-n', '2'], /required option '-s, --size/],
    [
      'an unknown format',
      ['put', 'file:///tmp/x/', '-n', '1', '-s', '1KiB', '--format', 'parquet'],
      /unknown object format 'parquet'.*raw, npz, tfrecord, hdf5/,
    ],
    [
      'put -o (the format is --format)',
      ['put', 'file:///tmp/x/', '-n', '1', '-s', '1KiB', '-o', 'npz'],
      /put has no -o: the object format is --format \(e\.g\. --format npz\)/,
    ],
    ['a dedup ratio below 1', ['put', 'file:///tmp/x/', '-n', '1', '-s', '1KiB', '-d', '0.5'], /invalid --dedup '0.5'/],
    ['zero jobs', ['get', '-j', '0', 'file:///tmp/x'], /invalid --jobs '0'/],
    [
      'a template without {} for many objects',
      ['put', 'file:///tmp/x/', '-n', '2', '-s', '1', '-t', 'same.bin'],
      /would collide/,
    ],
    [
      'a template escaping the prefix',
      ['put', 'file:///tmp/x/', '-n', '2', '-s', '1', '-t', '../{}.bin'],
      /'\.\.' path segments/,
    ],
    ['a bad regex', ['ls', '-p', '(', 'file:///tmp/'], /invalid --pattern '\('/],
    ['-p without -r on rm', ['rm', '-p', 'x', 'file:///tmp/x'], /needs -r/],
    ['--offset with a prefix', ['get', '-r', '--offset', '1', 'file:///tmp/'], /one object/],
    [
      '--endpoint-url on a local URI',
      ['--endpoint-url', 'http://127.0.0.1:9', 'ls', 'file:///tmp/'],
      /applies to s3:\/\/, az:\/\/ and gs:\/\//,
    ],
    ['a malformed --endpoint-url', ['--endpoint-url', 'not a url', 'ls', 's3://b/'], /invalid --endpoint-url/],
    [
      '--endpoint-url for two clouds',
      ['--endpoint-url', 'http://127.0.0.1:9', 'cp', 's3://a/k', 'gs://b/k'],
      /ambiguous/,
    ],
    ['--region without s3://', ['--region', 'eu-west-1', 'ls', 'gs://b/'], /--region applies to s3:\/\//],
    [
      '--ca-bundle on gs://',
      ['--ca-bundle', '/etc/ssl/certs/ca-certificates.crt', 'ls', 'gs://b/'],
      /NODE_EXTRA_CA_CERTS/,
    ],
    [
      '--ca-bundle on s3:// and gs:// at once',
      ['--ca-bundle', '/etc/ssl/certs/ca-certificates.crt', 'cp', 's3://a/k', 'gs://b/k'],
      /applies to s3:\/\/ and az:\/\/ URIs; for gs:\/\//,
    ],
    [
      '--ca-bundle on local URIs only',
      ['--ca-bundle', '/etc/ssl/certs/ca-certificates.crt', 'ls', 'file:///tmp/'],
      /--ca-bundle applies to s3:\/\/ and az:\/\//,
    ],
    [
      '--endpoints on a local URI',
      ['--endpoints', 'http://127.0.0.1:{1...2}', 'ls', 'file:///tmp/'],
      /--endpoints applies to s3:\/\//,
    ],
    [
      '--endpoints on gs://',
      ['--endpoints', 'http://127.0.0.1:{1...2}', 'ls', 'gs://b/'],
      /--endpoints applies to s3:\/\//,
    ],
    [
      '--endpoints with --endpoint-url',
      ['--endpoints', 'http://127.0.0.1:{1...2}', '--endpoint-url', 'http://127.0.0.1:3', 'ls', 's3://b/'],
      /give one/,
    ],
    [
      'a bad --endpoints template',
      ['--endpoints', 'http://127.0.0.1:{1..2}', 'ls', 's3://b/'],
      /\{1\.\.2\} .* is not a range/,
    ],
    [
      '--endpoints naming a missing file',
      ['--endpoints', '/nonexistent/eps.txt', 'ls', 's3://b/'],
      /nor a readable file/,
    ],
    ['--endpoint-strategy alone', ['--endpoint-strategy', 'round-robin', 'ls', 's3://b/'], /needs --endpoints/],
    [
      'an unknown --endpoint-strategy',
      ['--endpoints', 'http://127.0.0.1:{1...2}', '--endpoint-strategy', 'random', 'ls', 's3://b/'],
      /'random' is invalid.*round-robin, least-connections/,
    ],
    [
      '--io-threads that is not a number',
      ['--io-threads', 'two', 'ls', 's3://b/'],
      /whole number of threads, not "two"/,
    ],
    [
      'a mem:// URI (it would vanish with the process)',
      ['put', 'mem://b/x/', '-n', '1', '-s', '1k'],
      /mem:\/\/ lives inside one process/,
    ],
    ['a mem:// source of cp', ['cp', 'mem://b/x', 'file:///tmp/x'], /mem:\/\/ lives inside one process/],
    ['--io-threads on local URIs', ['--io-threads', '2', 'ls', 'file:///tmp/'], /--io-threads applies to s3:\/\//],
    ['--io-threads out of range', ['--io-threads', '300', 'ls', 's3://b/'], /an integer from 0 to 256/],
    [
      '--op-log to a store URI (a log is a local file)',
      ['--op-log', 's3://bucket/ops.tsv.zst', 'ls', 'file:///tmp/'],
      /--op-log s3:\/\/bucket\/ops.tsv.zst: the log is written to a local file/,
    ],
    ['replay without --target', ['replay', '/tmp/ops.tsv'], /required option '--target <uri>'/],
    [
      'replay at a negative speed',
      ['replay', '/tmp/ops.tsv', '--target', 'file:///tmp/x/', '--speed', '-1'],
      /--speed -1/,
    ],
    [
      'a --remap without =',
      ['replay', '/tmp/ops.tsv', '--target', 'file:///tmp/x/', '--remap', 'b/'],
      /expected FROM=TO/,
    ],
  ])('%s', async (_label, args, message) => {
    await expectUsageError(args, message);
  });
});

describe('failed operations: exit 1, the URI and the error code on stderr', () => {
  test('stat of a missing object', async () => {
    const uri = `file://${tmp.path}/missing.bin`;
    const result = await runCli(['stat', uri]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(uri);
    expect(result.stderr).toContain('[ERR_NOT_FOUND]');
  });

  test('get of a missing object, with --json: the failure is a JSON line on stderr', async () => {
    const uri = `file://${tmp.path}/missing.bin`;
    const result = await runCli(['--json', 'get', uri]);
    expect(result.code).toBe(1);
    const [failure] = jsonLines(result.stderr);
    expect(failure).toMatchObject({ type: 'error', operation: 'get', uri, code: 'ERR_NOT_FOUND' });
    const summary = jsonLines(result.stdout).find((line) => line.type === 'summary');
    expect(summary).toMatchObject({ operation: 'get', objects: 0, failed: 1 });
  });

  test('with --json, a failure that is no S3dlioError (a thrown non-Error, a foreign code) has a documented code', () => {
    const stderr = new PassThrough();
    const reporter = new Reporter({ json: true, verbose: 0, progress: false, stdout: new PassThrough(), stderr });
    const uri = 'file:///tmp/x';
    const foreign = Object.assign(new Error('from a dependency'), { code: 'ERR_SOMETHING_ELSE' });
    for (const thrown of ['a string', 42, undefined, { code: 7 }, new TypeError('no code'), foreign]) {
      reporter.failure(uri, thrown, 'get');
    }
    const records = jsonLines(String(stderr.read()));
    expect(records.map((record) => [record.code, record.uri])).toEqual(Array(6).fill(['ERR_UNEXPECTED', uri]));
    expect(records.every((record) => isErrorCode(record.code))).toBe(true);
    expect(records[0]!.message).toBe('get file:///tmp/x: a string');
    // An argument error keeps its own (documented) code.
    reporter.failure(uri, Object.assign(new RangeError('bad'), { code: 'ERR_OUT_OF_RANGE' }), 'get');
    expect(jsonLines(String(stderr.read()))).toMatchObject([{ code: 'ERR_OUT_OF_RANGE' }]);
  });

  test.each(cloudClis().map((cli) => [cli.scheme, cli] as const))(
    '%s: a missing bucket is named, with ERR_BUCKET_NOT_FOUND (or ERR_NOT_FOUND) and exit 1',
    async (_scheme, cli) => {
      const uri = `${cli.bucketUri('no-such-bucket-s3dlio-cli')}key.bin`;
      const result = await runCli([...cli.args, 'stat', uri], { env: cli.env });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('no-such-bucket-s3dlio-cli');
      expect(result.stderr).toMatch(/\[ERR_(BUCKET_)?NOT_FOUND\]/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    },
  );
});
