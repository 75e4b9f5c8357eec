// The outside tools measured beside the library in the same run: fio (local disk), curl (nginx),
// the AWS CLI and rclone (S3 on moto and nginx). One invocation per repetition; the figure
// is fio's own runtime, and the wall time of the command for the others (which includes starting
// the tool: ~10 ms for curl, ~0.5 s for the Python AWS CLI).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { objectKey } from './cases.mjs';

/** Which tools are installed, and for each missing one why it is skipped and how to install it. */
export function detectTools() {
  const has = (command, args = ['--version']) => {
    const result = spawnSync(command, args, { stdio: 'ignore' });
    return !result.error && result.status === 0;
  };
  const tools = { fio: has('fio'), curl: has('curl'), aws: has('aws'), rclone: has('rclone', ['version']) };
  const install = {
    fio: 'apt-get install -y fio',
    curl: 'apt-get install -y curl',
    aws: 'pip install awscli',
    rclone: 'apt-get install -y rclone',
  };
  const skipped = Object.keys(tools)
    .filter((tool) => !tools[tool])
    .map((tool) => ({ what: `${tool} baseline`, why: `${tool} is not installed`, install: install[tool] }));
  return { tools, skipped };
}

/** fio's throughput figure from its JSON output (its runtime excludes its own start and setup). */
function fioSeconds(stdout) {
  const start = stdout.indexOf('{');
  if (start < 0) throw new Error(`fio printed no JSON: ${stdout.slice(0, 500)}`);
  const job = JSON.parse(stdout.slice(start)).jobs?.[0];
  if (!job || job.error) throw new Error(`fio job failed (error ${job?.error})`);
  const side = job.read.io_bytes > 0 ? job.read : job.write;
  if (!(side.io_bytes > 0)) throw new Error('fio moved no bytes');
  // fio's runtime counts milliseconds: for short jobs, the sum of its per-I/O latencies (ns) is
  // the precise figure (sequential, one I/O at a time).
  const seconds =
    side.runtime < 100 && side.lat_ns?.mean > 0 ? (side.lat_ns.mean * side.total_ios) / 1e9 : side.runtime / 1000;
  return { seconds, bytes: side.io_bytes };
}

/** Where rclone's GETs land: a file on /dev/shm when there is one (memory, as curl's /dev/null). */
const rcloneSink = (tempDir) =>
  existsSync('/dev/shm')
    ? path.join('/dev/shm', `s3dlio-bench-rclone-${process.pid}`)
    : path.join(tempDir, 'rclone-get');

/**
 * An AWS CLI config that keeps uploads in one request: nginx has no multipart API (our client and
 * the SDK's are held to single PUTs there too).
 */
function awsSinglePutConfig(tempDir) {
  const file = path.join(tempDir, 'aws-single-put.cfg');
  if (!existsSync(file)) writeFileSync(file, '[default]\ns3 =\n  multipart_threshold = 5GB\n');
  return file;
}

/**
 * The key a tool's upload of `c` goes to in repetition `rep`: curl's a fresh one every time, the
 * AWS CLI's and rclone's one per case, replaced by each repetition.
 */
const uploadKey = (c, rep) =>
  c.runner === 'curl' ? `curl-put-${c.size}-${rep}` : `${c.runner === 'aws-cli' ? 'aws' : 'rclone'}-put-${c.size}`;

/** The runs whose rclone GET sink is already removed at their end (one stopper a run). */
const sinkOwners = new WeakSet();

/** The command line of one repetition of `c` on `target` (plain data from describeTarget). */
function command(c, target, tempDir, rep) {
  const key = objectKey(c.size);
  if (c.runner === 'fio') {
    const file = c.op === 'GET' ? path.join(target.dir, key) : path.join(target.dir, `fio-put-${c.size}`);
    return {
      command: 'fio',
      args: [
        `--name=${c.op === 'GET' ? 'get' : 'put'}`,
        `--filename=${file}`,
        `--rw=${c.op === 'GET' ? 'read' : 'write'}`,
        '--bs=1M',
        `--size=${c.size}`,
        '--ioengine=psync',
        `--direct=${target.backend === 'direct' ? 1 : 0}`,
        '--output-format=json',
      ],
    };
  }
  const source = path.join(tempDir, `src-${c.size}`);
  if (c.runner === 'curl') {
    const url = `${target.endpoint}/${target.bucket}`;
    // GCS downloads go to the JSON API's media URL.
    const getUrl =
      target.backend === 'gs'
        ? `${target.endpoint}/storage/v1/b/${target.bucket}/o/${encodeURIComponent(key)}?alt=media`
        : `${url}/${key}`;
    return c.op === 'GET'
      ? { command: 'curl', args: ['-sSf', '-o', '/dev/null', getUrl] }
      : {
          command: 'curl',
          // A fresh key each time (Azure's PUT needs its blob type header).
          args: [
            '-sSf',
            '-o',
            '/dev/null',
            ...(target.backend === 'az' ? ['-H', 'x-ms-blob-type: BlockBlob'] : []),
            '-T',
            source,
            `${url}/${uploadKey(c, rep)}`,
          ],
        };
  }
  const prefix = target.keyPrefix ?? '';
  if (c.runner === 'aws-cli') {
    const remote = `s3://${target.bucket}/${prefix}${c.op === 'GET' ? key : uploadKey(c, rep)}`;
    return {
      command: 'aws',
      args: [
        // A real service: the CLI's own configuration (environment, profile, instance role), and
        // the endpoint the environment names for every client of the run.
        ...(target.endpoint ? ['--endpoint-url', target.endpoint] : []),
        's3',
        'cp',
        '--only-show-errors',
        ...(c.op === 'GET' ? [remote, '/dev/null'] : [source, remote]),
      ],
      env: target.service
        ? {}
        : {
            ...(target.nginxDir ? { AWS_CONFIG_FILE: awsSinglePutConfig(tempDir) } : {}),
            AWS_ACCESS_KEY_ID: target.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: target.credentials.secretAccessKey,
            AWS_DEFAULT_REGION: 'us-east-1',
          },
    };
  }
  if (c.runner === 'rclone') {
    const remote = `bench:${target.bucket}/${prefix}${c.op === 'GET' ? key : uploadKey(c, rep)}`;
    // GETs land in a file in memory (`cat` lists the bucket, which nginx refuses; and rclone
    // replaces a destination such as /dev/null with a regular file). No bucket check: nginx has
    // no bucket API, and the bucket exists on moto.
    return {
      command: 'rclone',
      args: [
        'copyto',
        '--s3-no-check-bucket',
        '--retries=1',
        // Every repetition transfers: rclone skips a destination of the same size and time.
        '--ignore-times',
        // Single-request uploads on nginx, as for every client there (5 GiB is rclone's limit).
        ...(target.nginxDir ? ['--s3-upload-cutoff=5G'] : []),
        ...(target.service && process.env.AWS_CA_BUNDLE ? [`--ca-cert=${process.env.AWS_CA_BUNDLE}`] : []),
        ...(c.op === 'GET' ? [remote, rcloneSink(tempDir)] : [source, remote]),
      ],
      env: {
        // rclone's S3 backend cannot load AWS_CA_BUNDLE itself ("unsupported transport"): the
        // bundle goes to --ca-cert, and on the local servers (plain HTTP) it is not needed.
        AWS_CA_BUNDLE: '',
        RCLONE_CONFIG_BENCH_TYPE: 's3',
        ...(target.service
          ? {
              // A real service: the AWS environment and profile (env_auth), as the SDK and the CLI.
              RCLONE_CONFIG_BENCH_ENV_AUTH: 'true',
              RCLONE_CONFIG_BENCH_PROVIDER: target.endpoint ? 'Other' : 'AWS',
              RCLONE_CONFIG_BENCH_ENDPOINT: target.endpoint ?? '',
              RCLONE_CONFIG_BENCH_REGION: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? '',
            }
          : {
              RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
              RCLONE_CONFIG_BENCH_ENDPOINT: target.endpoint,
              RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: target.credentials.accessKeyId,
              RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: target.credentials.secretAccessKey,
              RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
            }),
      },
    };
  }
  throw new Error(`unknown outside tool ${c.runner}`);
}

/** Runs `c` with its tool `reps` times after one warm-up; returns the repetitions. */
export async function runTool(c, target, { lifecycle, tempDir, reps }) {
  if (c.runner === 'rclone' && !sinkOwners.has(lifecycle)) {
    sinkOwners.add(lifecycle);
    lifecycle.own(() => rmSync(rcloneSink(tempDir), { force: true }));
  }
  let round = 0;
  const once = async () => {
    const { command: cmd, args, env, stdout } = command(c, target, tempDir, round++);
    const result = await lifecycle.run(cmd, args, { env, stdout });
    if (result.status !== 0)
      throw new Error(
        `${cmd} ${args.join(' ')} failed (exit ${result.status ?? result.signal}): ${result.stderr.trim().slice(0, 1000)}`,
      );
    if (c.runner === 'fio') return fioSeconds(result.stdout);
    if (c.runner === 'rclone' && c.op === 'GET') rmSync(rcloneSink(tempDir), { force: true });
    // nginx keeps objects in memory: the upload goes once measured.
    if (c.runner === 'curl' && c.op === 'PUT' && target.nginxDir)
      rmSync(path.join(target.nginxDir, uploadKey(c, round - 1)), { force: true });
    return { seconds: result.seconds, bytes: c.size };
  };
  await once();
  const out = [];
  for (let r = 0; r < reps; r++) out.push({ ...(await once()), ops: 1 });
  // The upload stays in nginx's memory otherwise (a full run would pile up gigabytes there).
  if (c.op === 'PUT' && target.nginxDir && (c.runner === 'aws-cli' || c.runner === 'rclone'))
    rmSync(path.join(target.nginxDir, uploadKey(c, 0)), { force: true });
  const { command: cmd, args } = command(c, target, tempDir, 0);
  return { reps: out, command: [cmd, ...args].join(' ') };
}
