/**
 * The benchmark suite's plan, outputs and manners: every figure of ours has a baseline beside it
 * and a full run covers the sizes and levels it promises; the HTML report of a real run renders in a real
 * browser with data in every graph; bench:compare marks a change only beyond the spread of the
 * repetitions; Ctrl-C (SIGINT) leaves no server, child process or temporary file behind.
 */
import { type ChildProcess, spawn, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';

import * as s3dlio from '../../lib';
import { REPO_ROOT } from '../helpers/child';
import { withEnv } from '../helpers/env';
import { type ToolName, testWith } from '../helpers/tools';

const FIXTURE = path.join(__dirname, 'fixtures', 'file-quick.json');

let work = '';
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 's3dlio-bench-test-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function node(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, script), ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the report', () => {
  testWith(
    ['chromium'],
    'a real run (file://, --quick) renders in headless Chromium, every graph with data points',
    async () => {
      const rendered = node('bench/report.mjs', [FIXTURE, '--out', work]);
      expect(rendered.stderr).toBe('');
      expect(rendered.status).toBe(0);
      expect(rendered.stdout).toMatch(/GET 16 MiB × 16 in flight: [\d,.]+ MiB\/s/);
      const html = readFileSync(path.join(work, 'report.html'), 'utf8');
      // Self-contained: no script, nothing fetched from anywhere.
      expect(html).not.toMatch(/<script|<link|src=|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);

      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        page.on('requestfailed', (request) => errors.push(`request ${request.url()}`));
        await page.goto(`file://${path.join(work, 'report.html')}`);
        const graphs = await page.$$eval('svg', (svgs) =>
          svgs.map((svg) => ({
            title: svg.getAttribute('aria-label') ?? '',
            data: svg.querySelectorAll('.datum').length,
            series: svg.querySelectorAll('path.series').length,
            height: svg.getBoundingClientRect().height,
          })),
        );
        const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { cases: { kind: string; size: number }[] };
        const latencySizes = new Set(fixture.cases.filter((c) => c.kind === 'latency').map((c) => c.size)).size;
        // GET and PUT by size, one latency CDF per size, scaling, and the bar chart.
        expect(graphs).toHaveLength(2 + latencySizes + 1 + 1);
        for (const graph of graphs) {
          expect({ title: graph.title, hasData: graph.data > 0 }).toEqual({ title: graph.title, hasData: true });
          expect(graph.height).toBeGreaterThan(100);
        }
        for (const graph of graphs.filter((g) => !/in-flight transfers/.test(g.title)))
          expect({ title: graph.title, lines: graph.series > 1 }).toEqual({ title: graph.title, lines: true });
        expect(await page.textContent('body')).toContain('local disk');
        const shot = path.join(work, 'report.png');
        await page.screenshot({ path: shot, fullPage: true });
        expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    120_000,
  );

  test('summary.md quotes every figure of the run in tables, ours beside each baseline with the ratio', () => {
    // An --out that does not exist yet is made, as the suite makes its own.
    const out = path.join(mkdtempSync(path.join(work, 'md-')), 'not', 'yet');
    expect(node('bench/report.mjs', [FIXTURE, '--out', out]).status).toBe(0);
    const markdown = readFileSync(path.join(out, 'summary.md'), 'utf8');
    const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
      command: string;
      cases: { op: string; role: string; ratios: Record<string, number> }[];
    };
    expect(markdown).toContain(`\`${fixture.command}\``);
    const rows = markdown.split('\n').filter((line) => /^\| (GET|PUT) /.test(line));
    // One table row per group of the run: every ours row, each with its ratios to the baselines.
    const ours = fixture.cases.filter((c) => c.role === 'ours');
    expect(rows).toHaveLength(ours.length);
    for (const c of ours)
      for (const client of Object.keys(c.ratios))
        expect(rows.some((row) => row.includes(`× ${client}`) && row.startsWith(`| ${c.op} `))).toBe(true);
  });
});

describe('the plan', () => {
  /**
   * The cases the suite plans for `backends` (or `--target` URIs), every outside tool present
   * (planCases, run in node).
   */
  function plan(backends: string[], quick: boolean): Array<Record<string, unknown>> {
    const script = `
      const { planCases, profile } = await import('./bench/suite/cases.mjs');
      const { serviceTarget, targetsFor } = await import('./bench/suite/servers.mjs');
      const tools = { fio: true, curl: true, aws: true, rclone: true };
      const cases = ${JSON.stringify(backends)}.flatMap((b) => (b.includes('://') ? [serviceTarget(b)] : targetsFor(b)))
        .flatMap((t) => planCases(t, profile(${quick}), { quick: ${quick}, tools }).map((c) => ({ ...c, uploads: t.uploads })));
      process.stdout.write(JSON.stringify(cases));`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
  }
  const same = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    ['target', 'kind', 'op', 'size', 'concurrency', 'variant'].every((field) => a[field] === b[field]);

  test.each([false, true])('every figure of ours has a baseline beside it (quick: %s)', (quick) => {
    const cases = plan(['file', 'direct', 's3', 'az', 'gs'], quick);
    const ours = cases.filter((c) => c.role === 'ours');
    expect(ours.length).toBeGreaterThan(50);
    for (const c of ours)
      expect([c, cases.filter((b) => b.role === 'baseline' && same(b, c)).length > 0]).toEqual([c, true]);
  });

  test('a full run measures the sizes, latencies and levels of concurrency users ask about', () => {
    const cases = plan(['s3'], false).filter((c) => c.target === 's3@nginx' && c.client === 'ours');
    const sizesOf = (kind: string) => [...new Set(cases.filter((c) => c.kind === kind).map((c) => c.size))];
    expect(sizesOf('throughput')).toEqual([2 ** 20, 100 * 2 ** 20, 2 ** 30]);
    expect(sizesOf('latency')).toEqual([4096, 65536, 2 ** 20]);
    expect(cases.filter((c) => c.kind === 'scaling').map((c) => c.concurrency)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(new Set(cases.filter((c) => c.kind === 'parallel').map((c) => `${c.op} ${c.concurrency}`))).toEqual(
      new Set(['GET 16', 'PUT 16']),
    );
    // Emulators stop at 100 MiB: moto's ranges cost the whole object each.
    const moto = plan(['s3'], false).filter((c) => c.target === 's3@moto' && c.kind === 'throughput');
    expect([...new Set(moto.map((c) => c.size))]).toEqual([2 ** 20, 16 * 2 ** 20, 100 * 2 ** 20]);
  });

  test("a full run on a real service measures what it does on nginx, 1 GiB objects included (not an emulator's limits)", () => {
    const shape = (c: Record<string, unknown>) => [c.kind, c.op, c.size, c.concurrency, c.client].join(' ');
    const service = plan(['s3://bucket/prefix/'], false);
    const nginx = plan(['s3'], false).filter((c) => c.target === 's3@nginx' && c.client !== 'curl' && c.variant === '');
    expect(new Set(service.map((c) => c.target))).toEqual(new Set(['s3@bucket']));
    expect(service.map(shape).sort()).toEqual(nginx.map(shape).sort());
  });

  test('the S3 command-line tools run beside us on the emulator and on nginx, curl on nginx', () => {
    const cases = plan(['s3'], false);
    for (const target of ['s3@nginx', 's3@moto'])
      for (const op of ['GET', 'PUT'])
        expect(
          new Set(
            cases.filter((c) => c.target === target && c.op === op && c.kind === 'throughput').map((c) => c.client),
          ),
        ).toEqual(new Set(['ours', 'sdk', 'aws-cli', 'rclone', ...(target === 's3@nginx' ? ['curl'] : [])]));
  });

  test('gs:// on nginx measures GETs only (nginx takes no GCS upload), with curl beside them', () => {
    const gs = plan(['gs'], false);
    const onNginx = gs.filter((c) => c.target === 'gs@nginx');
    expect(onNginx.length).toBeGreaterThan(10);
    expect(onNginx.filter((c) => c.op !== 'GET')).toEqual([]);
    expect(onNginx.some((c) => c.client === 'curl' && c.kind === 'throughput')).toBe(true);
    expect(gs.some((c) => c.target === 'gs@gcs' && c.op === 'PUT')).toBe(true);
  });
});

describe('a failed case', () => {
  test('is reported with its error and the run goes on: every other case measured, exit 1 at the end', () => {
    // An fio that answers --version (so it is found) and fails every job.
    const bin = mkdtempSync(path.join(work, 'bin-'));
    writeFileSync(
      path.join(bin, 'fio'),
      '#!/bin/sh\n[ "$1" = --version ] && { echo fio-3.33; exit 0; }\necho "fio: job failed on purpose" >&2; exit 1\n',
      { mode: 0o755 },
    );
    const out = mkdtempSync(path.join(work, 'failed-'));
    const result = spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, 'bench', 'suite.mjs'), '--backends', 'file', '--quick', '--out', out],
      {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, S3DLIO_REQUIRE_TOOLS: '' },
        timeout: 300_000,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /case\(s\) failed:\n(?: {2}file throughput \w+ [\d.]+ MiB ×1 fio: .*job failed on purpose.*\n)+$/,
    );
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as {
      failures: { case: string; error: string }[];
      cases: { client: string }[];
    };
    expect(results.failures.length).toBeGreaterThan(0);
    for (const failure of results.failures) expect(failure.case).toMatch(/ fio$/);
    expect(results.cases.some((c) => c.client === 'fio')).toBe(false);
    expect(new Set(results.cases.map((c) => c.client))).toEqual(
      new Set(['ours', 'fs', 'ours (one request)', 'ours (RangeEngine)', 'DataLoader']),
    );
    expect(readFileSync(path.join(out, 'summary.md'), 'utf8')).toMatch(/^- FAILED file throughput GET .* fio: /m);
  });
});

describe('--target: a real service', () => {
  /**
   * `npm run bench` with `args` in this environment; its exit status and output (`onStderr` sees it
   * as it grows). Asynchronous: the test
   * servers (moto) belong to this process, which must keep reading their output meanwhile (a
   * synchronous wait fills moto's log pipe and stalls it).
   */
  function bench(
    args: string[],
    onStderr: (text: string, child: ChildProcess) => void = () => undefined,
  ): Promise<{ status: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bench', 'suite.mjs'), ...args], {
        // This file's own environment (a child otherwise gets the worker's).
        env: { ...process.env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        onStderr(stderr, child);
      });
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stderr }));
    });
  }

  const ENDPOINTS = { S3_ENDPOINT_URIS: 'http://10.0.0.1:9000,http://10.0.0.2:9000' };
  test.each([
    ['s3://', /names no bucket/, {}],
    ['http://example.com/bucket/', /names no bucket/, {}],
    ['az://account/', /names no bucket/, {}],
    ['az://account/container/', /AZURE_STORAGE_CONNECTION_STRING/, {}],
    ['s3://bucket/a/,s3://bucket/b/', /two targets are s3@bucket/, {}],
    ['file:///tmp/data/', /names a cloud service; local disks are measured by --backends file,direct/, {}],
    // Several endpoints would be ours alone: the baselines each use one.
    ['s3://bucket/prefix/', /S3_ENDPOINT_URIS is set, which only our store follows/, ENDPOINTS],
  ])('%s is a usage error (exit 2) before anything runs (%s)', async (uri, message, env) => {
    const { status, stderr } = await withEnv(env, () => bench(['--target', uri, '--quick']));
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: npm run bench/);
    expect(status).toBe(2);
  });

  test.each([
    [['--target', 's3://bucket/a/', '--target', 's3://other/b/'], /--target is given twice/],
    [['--quick', '--quick'], /--quick is given twice/],
    [['--out', '--quick'], /--out needs a value/],
    [['--quick', '--out', path.join(REPO_ROOT, 'package.json')], /--out .*package\.json: EEXIST/],
  ])(
    '%j is a usage error (exit 2): an option given twice, a value missing, results that cannot be written',
    async (args, message) => {
      const { status, stderr } = await bench(args as string[]);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/listening|starting/);
      expect(status).toBe(2);
    },
  );

  test('--target with --backends is a usage error: one names services, the other local servers', async () => {
    const { status, stderr } = await bench(['--backends', 's3', '--target', 's3://bucket/prefix/']);
    const message = /--target and --backends exclude each other/;
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/usage: npm run bench/);
    expect(status).toBe(2);
  });

  /** A service as a user names it: the environment configures every client; `root` is a bucket's URI. */
  interface Service {
    name: string;
    tools: ToolName[];
    env: () => Record<string, string>;
    root: (bucket: string) => string;
    /** The clients of a throughput case: ours, the SDK call and the outside tools. */
    clients: string[];
  }
  const services: Service[] = [
    {
      name: 's3:// (moto as the service)',
      tools: ['moto', 'aws', 'rclone'],
      env: () => ({
        AWS_ENDPOINT_URL: process.env.S3DLIO_TEST_S3_ENDPOINT as string,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: process.env.S3DLIO_TEST_S3_ACCESS_KEY ?? 'test',
        AWS_SECRET_ACCESS_KEY: process.env.S3DLIO_TEST_S3_SECRET_KEY ?? 'test',
      }),
      root: (bucket) => `s3://${bucket}/`,
      clients: ['ours', 'sdk', 'aws-cli', 'rclone'],
    },
    {
      name: 'az:// (Azurite as the service)',
      tools: [],
      env: () => ({ AZURE_STORAGE_CONNECTION_STRING: process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING as string }),
      root: (bucket) => `az://devstoreaccount1/${bucket}/`,
      clients: ['ours', 'sdk'],
    },
    {
      name: 'gs:// (the GCS test server as the service)',
      tools: [],
      env: () => ({
        STORAGE_EMULATOR_HOST: process.env.S3DLIO_TEST_GCS_ENDPOINT as string,
        GOOGLE_CLOUD_PROJECT: 'bench',
      }),
      root: (bucket) => `gs://${bucket}/`,
      clients: ['ours', 'sdk'],
    },
  ];
  /** Objects beside the run's prefix `runs/`, and one under it: a run may touch none of them. */
  const KEPT = ['other/keep.bin', 'runs-sibling.bin', 'runs/keep.bin'];

  /** Runs `fn` with a bucket of `service` holding KEPT (configured by its environment only), then removes it. */
  async function withBucket(service: Service, fn: (store: s3dlio.ObjectStore, root: string) => Promise<void>) {
    await withEnv(service.env(), async () => {
      const root = service.root(`bench-target-${process.pid}-${Date.now()}`);
      const store = s3dlio.storeFor(root);
      await store.createBucket(root);
      for (const key of KEPT) await store.put(`${root}${key}`, new Uint8Array([1, 2, 3]));
      try {
        await fn(store, root);
      } finally {
        await store.deletePrefix(root);
        await store.deleteBucket(root);
      }
    });
  }

  for (const service of services)
    testWith(
      service.tools,
      `${service.name}: measures the bucket a URI names with the environment's endpoint and credentials, beside ${service.clients.slice(1).join(', ')}, then deletes only what it wrote`,
      () =>
        withBucket(service, async (store, root) => {
          const out = mkdtempSync(path.join(work, 'target-'));
          const { status, stderr } = await bench(['--target', `${root}runs/`, '--quick', '--out', out]);
          expect(stderr).not.toMatch(/SKIPPED|FAILED/);
          if (status !== 0) throw new Error(`the run exited ${status}:\n${stderr}`);
          const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as {
            cases: { target: string; server: string; kind: string; op: string; client: string; values: number[] }[];
          };
          const bucket = root.split('/').at(-2);
          expect(new Set(results.cases.map((c) => c.target))).toEqual(new Set([`${root.slice(0, 2)}@${bucket}`]));
          expect(results.cases[0].server).toBe(`${root}runs/ (a real service, named by --target)`);
          for (const op of ['GET', 'PUT'])
            expect(
              new Set(results.cases.filter((c) => c.kind === 'throughput' && c.op === op).map((c) => c.client)),
            ).toEqual(new Set(service.clients));
          expect(new Set(results.cases.map((c) => c.kind))).toEqual(new Set(['throughput', 'latency']));
          for (const c of results.cases) expect(c.values.every((v) => v > 0)).toBe(true);
          expect((await store.list(root, { recursive: true })).sort()).toEqual(KEPT.map((key) => `${root}${key}`));
        }),
      300_000,
    );

  testWith(['moto'], 'a bucket that does not exist fails the run before it writes anything (exit 1)', () =>
    withEnv(services[0].env(), async () => {
      const root = `s3://bench-missing-${process.pid}/`;
      const { status, stderr } = await bench(['--target', `${root}runs/`, '--quick', '--out', work]);
      expect(stderr).toMatch(/cannot list s3:\/\/bench-missing-\d+\/runs\/s3dlio-bench-.*NoSuchBucket/);
      expect(stderr).not.toMatch(/throughput|deleting/);
      expect(status).toBe(1);
    }),
  );

  testWith(
    ['moto'],
    'Ctrl-C in the middle of a run still deletes what it wrote, and only that',
    () =>
      withBucket(services[0], async (store, root) => {
        const { status, stderr } = await bench(
          ['--target', `${root}runs/`, '--quick', '--out', mkdtempSync(path.join(work, 'target-'))],
          // Interrupted once the objects are seeded and a PUT case has written more.
          (text, child) => /throughput PUT .* sdk/.test(text) && !child.killed && child.kill('SIGINT'),
        );
        expect(stderr).toMatch(/deleting what the run wrote, s3:\/\/.*\/runs\/s3dlio-bench-.*\n.*deleted \d+ object/);
        // The children it killed are not reported as failures of their own.
        expect(stderr).not.toMatch(/case .* failed/);
        expect(status).not.toBe(0);
        expect((await store.list(root, { recursive: true })).sort()).toEqual(KEPT.map((key) => `${root}${key}`));
      }),
    300_000,
  );
});

describe('bench:compare', () => {
  /** A results file with one throughput case and one latency case, of these repetitions. */
  function results(throughput: number[], latency: number[]): string {
    const row = (kind: string, values: number[]) => ({
      id: `file|${kind}|GET|4096|1|ours|`,
      kind,
      metric: kind === 'latency' ? 'p50 µs' : 'MiB/s',
      higherIsBetter: kind !== 'latency',
      values,
      median: [...values].sort((a, b) => a - b)[values.length >> 1],
      min: Math.min(...values),
      max: Math.max(...values),
    });
    const file = path.join(work, `r-${throughput.join('-')}-${latency.join('-')}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        schema: 1,
        date: '2026-01-01',
        machine: { gitCommit: 'abc' },
        cases: [row('throughput', throughput), row('latency', latency)],
      }),
    );
    return file;
  }
  const verdicts = (a: string, b: string) => {
    const { status, stdout, stderr } = node('bench/compare.mjs', [a, b]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const of = (kind: string) => new RegExp(`^file\\|${kind}\\|.*?(BETTER|WORSE|~)$`, 'm').exec(stdout)?.[1];
    return { throughput: of('throughput'), latency: of('latency') };
  };

  test('a change beyond both spreads is marked, by the direction of its metric', () => {
    const before = results([100, 110, 120], [50, 55, 60]);
    // Throughput up past 120, latency down below 50: both better.
    expect(verdicts(before, results([125, 130, 140], [40, 42, 45]))).toEqual({
      throughput: 'BETTER',
      latency: 'BETTER',
    });
    // The opposite: both worse.
    expect(verdicts(before, results([80, 90, 99], [61, 70, 75]))).toEqual({ throughput: 'WORSE', latency: 'WORSE' });
  });

  test('a change whose spread overlaps the other run is within the noise, however large the medians move', () => {
    const before = results([100, 110, 120], [50, 55, 60]);
    // Medians +18% and -16%, but 118 <= 120 and 59 >= 50: the spreads touch.
    expect(verdicts(before, results([118, 130, 200], [30, 46, 59]))).toEqual({ throughput: '~', latency: '~' });
  });

  test('a file that is not suite results is a usage error (exit 2)', () => {
    const other = path.join(work, 'other.json');
    writeFileSync(other, '{"hello": 1}');
    const { status, stderr } = node('bench/compare.mjs', [other, other]);
    expect(status).toBe(2);
    expect(stderr).toMatch(/not a bench suite results file/);
    expect(node('bench/compare.mjs', [other]).status).toBe(2);
  });
});

describe('Ctrl-C', () => {
  /** The command line of process `pid`, or undefined when there is none. */
  function cmdline(pid: number | string): string | undefined {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      return undefined; // gone
    }
  }
  /** A running process whose command line matches `pattern` (as `pid: cmdline`), if any. */
  function processMatching(pattern: RegExp): string | undefined {
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      const line = cmdline(pid);
      if (line !== undefined && pattern.test(line)) return `${pid}: ${line}`;
    }
    return undefined;
  }
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const refuses = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });

  testWith(
    ['moto'],
    'SIGINT mid-run stops every server and child process and removes the temporary files',
    async () => {
      const out = path.join(work, 'interrupted');
      const child = spawn(
        process.execPath,
        [
          path.join(REPO_ROOT, 'bench/suite.mjs'),
          '--backends',
          'file,s3,az,gs',
          '--quick',
          '--out',
          out,
          '--dir',
          work,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      // Every server starts before the first case: interrupt while a case's child is running.
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (/^\[bench\] 1\/\d+ .*\n\[bench\] {3}child pid \d+/m.test(stderr)) resolve();
        });
        child.once('exit', () => reject(new Error(`the suite ended before its first case:\n${stderr}`)));
      });
      child.kill('SIGINT');
      expect(await exited).toBe(130);

      const ports = [...stderr.matchAll(/listening on http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      const pids = [...stderr.matchAll(/child pid (\d+)/g)].map((m) => Number(m[1]));
      const tempDir = /temporary directory (\S+)/.exec(stderr)?.[1];
      const serverDirs = [...stderr.matchAll(/\(files in (\S+)\)/g)].map((m) => m[1]);
      // nginx, moto, Azurite, the GCS server and the pacing proxy.
      expect(ports.length).toBeGreaterThanOrEqual(5);
      expect(pids.length).toBeGreaterThan(0);
      expect(tempDir).toBeDefined();
      expect(serverDirs.length).toBeGreaterThan(0);
      for (const port of ports) expect({ port, closed: await refuses(port) }).toEqual({ port, closed: true });
      // moto `-p PORT`, Azurite `--blobPort PORT`; nginx names its directory.
      for (const port of ports) expect(processMatching(new RegExp(`(-p|Port) ${port}\\b`))).toBeUndefined();
      // A case's child (a pid the system may since have given to something else).
      for (const pid of pids) expect(cmdline(pid) ?? '').not.toMatch(/case-child\.mjs|fio|curl|aws/);
      for (const dir of [tempDir!, ...serverDirs]) {
        expect({ dir, exists: existsSync(dir) }).toEqual({ dir, exists: false });
        expect(processMatching(new RegExp(escape(dir)))).toBeUndefined();
      }
      expect(existsSync(path.join(out, 'results.json'))).toBe(false);
    },
    120_000,
  );
});
