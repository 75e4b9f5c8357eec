// The servers a run needs, started once each and stopped by the run's Lifecycle: moto (S3),
// Azurite (Azure Blob), the test suite's in-process GCS server, and nginx (kernel-speed HTTP, and
// a second nginx on the same files that paces each connection). Also the targets: where each
// backend's objects live, as plain data a case's child process can rebuild a store from.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';

import { PACKAGE_ROOT } from '../lib/load.mjs';
import { startNginx } from '../lib/nginx.mjs';

const require = createRequire(import.meta.url);

/** Where every figure comes from, named beside it in results and the report. */
export const SERVER_LABELS = {
  disk: 'local disk',
  nginx: 'nginx (kernel-speed HTTP)',
  moto: 'moto (emulator)',
  azurite: 'Azurite (emulator)',
  gcs: 'gcs-server (emulator)',
};

/**
 * Per-connection rate of the paced server (MiB/s; quick run, full run): the regime of real object
 * stores, where one stream cannot fill the link. A throttling proxy in front of nginx paces each
 * response (nginx's own limit_rate lets the first second's worth through at once).
 */
export const PACED_MIB_PER_SECOND = { quick: 50, full: 100 };

const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench-secret-key' };
const BUCKET = 'bench-bucket';
const AZURE_ACCOUNT = 'devstoreaccount1';

/** The test suite's TypeScript server modules, compiled on load (as `npm run bench:cloud` does). */
function testServers() {
  require(path.join(PACKAGE_ROOT, 'test', 'helpers', 'register-ts.js'));
  return {
    moto: require(path.join(PACKAGE_ROOT, 'test', 'servers', 'moto.ts')),
    azurite: require(path.join(PACKAGE_ROOT, 'test', 'servers', 'azurite.ts')),
    gcs: require(path.join(PACKAGE_ROOT, 'test', 'servers', 'gcs-server.ts')),
    faultProxy: require(path.join(PACKAGE_ROOT, 'test', 'servers', 'fault-proxy.ts')),
  };
}

/** Starts servers on demand (once each); the lifecycle stops them. */
export class Servers {
  constructor(lifecycle, log, { pacedMiBs = PACED_MIB_PER_SECOND.full } = {}) {
    this.lifecycle = lifecycle;
    this.pacedMiBs = pacedMiBs;
    this.log = log;
    this.started = new Map();
  }

  get(name) {
    if (!this.started.has(name)) this.started.set(name, this.start(name));
    return this.started.get(name);
  }

  async start(name) {
    if (this.lifecycle.closed) throw new Error('the run is stopping');
    let server;
    if (name === 'nginx') {
      server = await startNginx({ tls: false });
      server.bucket(BUCKET, { writable: true });
      // Azure's path-style blob URLs: /<account>/<container>/<blob>.
      server.bucket(`${AZURE_ACCOUNT}/${BUCKET}`, { writable: true });
    } else if (name === 'nginx-paced') {
      const nginx = await this.get('nginx');
      server = await testServers().faultProxy.startFaultProxy({ target: nginx.url });
      server.setRules([{ method: 'GET', action: { type: 'throttle', bytesPerSecond: this.pacedMiBs * 2 ** 20 } }]);
      server.root = nginx.root;
    } else {
      const modules = testServers();
      if (name === 'moto') server = await modules.moto.startMoto();
      else if (name === 'azurite') server = await modules.azurite.startAzurite();
      else if (name === 'gcs') server = await modules.gcs.startGcsServer();
      else throw new Error(`unknown server ${name}`);
      if (name === 'azurite') server.connectionString = modules.azurite.azuriteConnectionString(server.url);
    }
    this.lifecycle.own(() => server.stop());
    this.log(`${name} listening on ${server.url}${server.root ? ` (files in ${path.dirname(server.root)})` : ''}`);
    return server;
  }
}

/**
 * The targets of `backend`: each a store on one server. `describe` gives the plain-data target a
 * case's child process uses (URIs, store and put options, the SDK's endpoint, local paths).
 */
export function targetsFor(backend) {
  switch (backend) {
    case 'file':
    case 'direct':
      return [{ id: backend, backend, serverName: 'disk', server: SERVER_LABELS.disk }];
    case 's3':
      return [
        { id: 's3@nginx', backend, serverName: 'nginx', server: SERVER_LABELS.nginx },
        { id: 's3@moto', backend, serverName: 'moto', server: SERVER_LABELS.moto },
      ];
    case 'az':
      return [
        { id: 'az@nginx', backend, serverName: 'nginx', server: SERVER_LABELS.nginx },
        { id: 'az@azurite', backend, serverName: 'azurite', server: SERVER_LABELS.azurite },
      ];
    case 'gs':
      return [
        // GETs only: GCS uploads are POSTs naming the object in the query, which nginx cannot take.
        { id: 'gs@nginx', backend, serverName: 'nginx', server: SERVER_LABELS.nginx, uploads: false },
        { id: 'gs@gcs', backend, serverName: 'gcs', server: SERVER_LABELS.gcs },
      ];
    default:
      throw new Error(`unknown backend ${JSON.stringify(backend)} (known: file, direct, s3, az, gs)`);
  }
}

/**
 * A target on a real service, named by `--target`: `s3://bucket/prefix/`, `az://account/container/prefix/`
 * or `gs://bucket/prefix/`. The run writes under a prefix of its own below it and deletes it at the
 * end; credentials and endpoints come from the environment, as for any store and SDK client.
 */
export function serviceTarget(uri) {
  if (/^(file|direct):/.test(uri))
    throw new Error(
      `--target ${JSON.stringify(uri)}: --target names a cloud service; local disks are measured by --backends file,direct (with --dir DIR for where)`,
    );
  const match = /^(s3|az|gs):\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match || (match[1] === 'az' && !/^[^/]+\/[^/]+/.test(`${match[2]}/${match[3]}`)))
    throw new Error(
      `--target ${JSON.stringify(uri)} names no bucket (s3://bucket/prefix/, az://account/container/prefix/, gs://bucket/prefix/)`,
    );
  const [, backend, first, rest] = match;
  if (backend === 'az' && !process.env.AZURE_STORAGE_CONNECTION_STRING)
    throw new Error(
      '--target az://…: set AZURE_STORAGE_CONNECTION_STRING (the plain SDK baseline beside ours needs a connection string)',
    );
  // Our store would spread over the listed endpoints while the SDK, the AWS CLI and rclone each
  // go to one: no fair comparison (npm run bench:endpoints measures several endpoints).
  if (backend === 's3' && process.env.S3_ENDPOINT_URIS)
    throw new Error(
      '--target s3://…: S3_ENDPOINT_URIS is set, which only our store follows (the baselines use one endpoint): unset it and name the endpoint in AWS_ENDPOINT_URL; `npm run bench:endpoints` measures several',
    );
  const [bucket, inBucket] =
    backend === 'az' ? [rest.split('/')[0], rest.split('/').slice(1).join('/')] : [first, rest];
  const prefix = `${inBucket}${inBucket && !inBucket.endsWith('/') ? '/' : ''}s3dlio-bench-${Date.now()}-${process.pid}/`;
  const root = backend === 'az' ? `az://${first}/${bucket}/` : `${backend}://${bucket}/`;
  return {
    id: `${backend}@${bucket}`,
    backend,
    serverName: 'service',
    server: `${root}${inBucket} (a real service, named by --target)`,
    described: {
      backend,
      base: `${root}${prefix}`,
      bucket,
      keyPrefix: prefix,
      service: true,
      // The S3 endpoint the environment names (an S3-compatible service), for every client.
      ...(backend === 's3'
        ? { endpoint: process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined }
        : {}),
      storeOptions: {},
      putOptions: {},
    },
  };
}

/** The child-process view of `target` (servers started as needed); `paced`: through the paced nginx. */
export async function describeTarget(target, servers, tempDir, { paced = false } = {}) {
  const { backend } = target;
  if (target.serverName === 'service')
    return { ...target.described, connectionString: process.env.AZURE_STORAGE_CONNECTION_STRING };
  if (backend === 'file' || backend === 'direct') {
    const dir = path.join(tempDir, 'data');
    mkdirSync(dir, { recursive: true });
    return { backend, base: `${backend}://${dir}/`, dir, storeOptions: {}, putOptions: {} };
  }
  const server = await servers.get(paced ? 'nginx-paced' : target.serverName);
  if (backend === 's3') {
    const onNginx = target.serverName === 'nginx';
    return {
      backend,
      base: `s3://${BUCKET}/`,
      bucket: BUCKET,
      endpoint: server.url,
      credentials: CREDENTIALS,
      storeOptions: { endpoint: server.url, region: 'us-east-1', credentials: CREDENTIALS },
      // nginx takes single-request PUTs only (no multipart API).
      putOptions: onNginx ? { multipartThreshold: 2 ** 40 } : {},
      nginxDir: onNginx ? path.join(server.root, BUCKET) : undefined,
      createBucket: !onNginx,
    };
  }
  if (backend === 'az') {
    const onNginx = target.serverName === 'nginx';
    // Azurite's well-known development account, on either server (nginx ignores the signature).
    const connectionString = onNginx
      ? testServers().azurite.azuriteConnectionString(server.url)
      : server.connectionString;
    return {
      backend,
      base: `az://${AZURE_ACCOUNT}/${BUCKET}/`,
      bucket: BUCKET,
      endpoint: `${server.url}/${AZURE_ACCOUNT}`,
      connectionString,
      storeOptions: { connectionString },
      // nginx takes single-request PUTs only (no block API).
      putOptions: onNginx ? { multipartThreshold: 2 ** 40 } : {},
      nginxDir: onNginx ? path.join(server.root, AZURE_ACCOUNT, BUCKET) : undefined,
      createBucket: !onNginx,
    };
  }
  const onNginx = target.serverName === 'nginx';
  return {
    backend,
    base: `gs://${BUCKET}/`,
    bucket: BUCKET,
    endpoint: server.url,
    storeOptions: { endpoint: server.url, projectId: 'bench' },
    putOptions: {},
    // On nginx the objects are written as files, with the CRC32C each GCS download carries.
    nginxDir: onNginx ? path.join(server.root, BUCKET) : undefined,
    seedAsFiles: onNginx,
    createBucket: !onNginx,
  };
}
