// nginx on loopback as a kernel-speed HTTP server for client measurements: files served with
// sendfile (path-style S3 URLs are plain paths), PUT through the dav module, plain HTTP and TLS
// (a self-signed certificate made here). Everything lives in one directory on /dev/shm, so the
// server never measures a disk; stop() kills it and removes the directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const NGINX_CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx'];

/** The nginx binary; installs nginx-light (Debian) when it is missing and we are root. */
export function findNginx({ install = true } = {}) {
  let found = NGINX_CANDIDATES.find((candidate) => existsSync(candidate));
  if (!found && install && process.getuid?.() === 0) {
    console.error('nginx is missing: installing it with `apt-get install -y nginx-light`...');
    const run = (args) =>
      spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (run(['install', '-y', 'nginx-light']).status !== 0) {
      run(['update']);
      run(['install', '-y', 'nginx-light']);
    }
    found = NGINX_CANDIDATES.find((candidate) => existsSync(candidate));
  }
  if (!found) throw new Error('nginx is not installed: `apt-get install -y nginx-light` (Debian) installs it');
  return found;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The `gcsHashes` entry of one object: its decoded media path, and the `x-goog-hash` value GCS
 * sends with it (`crc32c=` and the big-endian CRC32C in base64), given the object's CRC32C.
 */
export function gcsHashEntry(bucket, key, crc32c) {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c);
  return [`/storage/v1/b/${bucket}/o/${key}`, `crc32c=${crc.toString('base64')}`];
}

/** Whether something accepts connections on `port` (loopback). */
function listening(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits until `port` accepts connections (`open`), or refuses them (`!open`). */
async function waitForPort(port, open = true, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while ((await listening(port)) !== open) {
    if (Date.now() > deadline) throw new Error(`nginx ${open ? 'did not listen' : 'still listens'} on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Starts nginx serving `<dir>/www` (returned as `root`): `http://127.0.0.1:<port>/` and
 * `https://127.0.0.1:<tlsPort>/` with the certificate `cert` (PEM path). Buckets are directories
 * of `root`; make them world-readable (the worker runs as nobody), and world-writable for PUTs.
 * GCS media URLs (`/storage/v1/b/<bucket>/o/<name>`) serve `<bucket>/<name>`, with the
 * `x-goog-hash` value `gcsHashes` gives for that decoded path. `root` serves a directory another
 * instance made (several servers, one storage: the endpoints of a cluster); `port` fixes the plain
 * HTTP port (a server restarted where it was); `limitRate` (nginx syntax, e.g. `20m`) caps each
 * response's rate: a slow endpoint; `cpus` (taskset syntax, e.g. `1`) pins its processes to those
 * CPUs, so that a client measured beside it knows which cores it shares.
 */
export async function startNginx({
  workers = 1,
  gcsHashes = {},
  root: sharedRoot,
  port: fixedPort,
  tls = true,
  limitRate,
  cpus,
} = {}) {
  const binary = findNginx();
  const dir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 's3dlio-nginx-'));
  chmodSync(dir, 0o755);
  const root = sharedRoot ?? path.join(dir, 'www');
  const temp = path.join(dir, 'temp');
  if (!sharedRoot) mkdirSync(root, { mode: 0o755 });
  mkdirSync(temp, { mode: 0o777 });
  chmodSync(root, 0o755);
  chmodSync(temp, 0o777);
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  // Without TLS no certificate is made: openssl blocks this process for a while (a bench that
  // starts a server mid-measurement must not stall its own clients).
  if (tls)
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  if (tls) chmodSync(key, 0o644);
  const [port, tlsPort] = [fixedPort ?? (await freePort()), tls ? await freePort() : undefined];
  const config = path.join(dir, 'nginx.conf');
  const hashes = path.join(dir, 'gcs-hashes.conf');
  const writeHashes = (entries) =>
    writeFileSync(hashes, entries.map(([uri, hash]) => `"${uri}" "${hash}";\n`).join(''));
  const served = { ...gcsHashes }; // addGcsHashes adds to it, never to the caller's object
  writeHashes(Object.entries(served));
  const server = (listen) => `
    server {
      listen ${listen};
      root ${root};
      # limit_rate holds back only what a send has not yet handed to the socket: with sendfile a
      # whole loopback-sized response goes at once, so a rate-limited server copies in small buffers.
      ${limitRate ? `sendfile off; output_buffers 1 32k; limit_rate ${limitRate};` : 'sendfile on;'}
      tcp_nopush on;
      keepalive_requests 1000000;
      keepalive_timeout 75s;
      client_max_body_size 0;
      client_body_buffer_size 1m;
      client_body_temp_path ${temp};
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:rw all:rw;
      # GCS media downloads (JSON API, objects.get?alt=media): the decoded object name is the
      # path below the bucket's directory.
      location ~ ^/storage/v1/b/([^/]+)/o/(.+)$ {
        alias ${root}/$1/$2;
        add_header x-goog-hash $goog_hash;
      }
      ${listen.includes('ssl') ? `ssl_certificate ${cert}; ssl_certificate_key ${key}; ssl_protocols TLSv1.3;` : ''}
    }`;
  writeFileSync(
    config,
    `daemon on;
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
# The Azure SDK's downloadToBuffer leaves a connection open per range it read: four 1 GiB
# downloads exhaust 1,024 connections, and nginx then drops the requests of the next one.
events { worker_connections 8192; }
http {
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path ${temp}/body;
  proxy_temp_path ${temp}/proxy;
  fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi;
  scgi_temp_path ${temp}/scgi;
  # The CRC32C GCS sends with an object (x-goog-hash), by decoded media path: clients check it.
  map $uri $goog_hash {
    default "";
    include ${hashes};
  }
  ${server(`127.0.0.1:${port}`)}
  ${tls ? server(`127.0.0.1:${tlsPort} ssl`) : ''}
}
`,
  );
  // The daemon and its workers inherit the affinity taskset gives the command.
  const command = cpus === undefined ? [binary] : ['taskset', '-c', String(cpus), binary];
  execFileSync(command[0], [...command.slice(1), '-c', config, '-p', dir], { stdio: 'inherit' });
  await Promise.all([waitForPort(port), tls && waitForPort(tlsPort)]);
  return {
    root,
    cert,
    url: `http://127.0.0.1:${port}`,
    tlsUrl: tls ? `https://127.0.0.1:${tlsPort}` : undefined,
    /** A bucket directory under the root. */
    bucket(name, { writable = false } = {}) {
      const bucketDir = path.join(root, name);
      mkdirSync(bucketDir, { recursive: true });
      chmodSync(bucketDir, writable ? 0o777 : 0o755);
      return bucketDir;
    },
    port,
    /**
     * Serves these `x-goog-hash` values (by decoded media path) from now on, beside the ones it
     * had: rewrites the map and reloads the configuration; resolves once the workers serve it.
     */
    async addGcsHashes(more) {
      Object.assign(served, more);
      writeHashes(Object.entries(served));
      process.kill(Number(readFileSync(path.join(dir, 'nginx.pid'), 'utf8')), 'SIGHUP');
      const deadline = Date.now() + 10_000;
      // A reload replaces the workers in the background: poll one of the new paths until it answers.
      const [probe, hash] = Object.entries(more)[0] ?? [];
      while (probe) {
        const response = await globalThis.fetch(`http://127.0.0.1:${port}${encodeURI(probe)}`, { method: 'HEAD' });
        if (response.headers.get('x-goog-hash') === hash) break;
        if (Date.now() > deadline) throw new Error('nginx did not reload its GCS hashes within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    /** Kills the server (its connections drop) and removes its directory; resolves once its port is closed. */
    async stop() {
      try {
        const pid = Number(readFileSync(path.join(dir, 'nginx.pid'), 'utf8'));
        process.kill(pid, 'SIGTERM');
      } catch {
        // not running
      }
      rmSync(dir, { recursive: true, force: true });
      await waitForPort(port, false);
    },
  };
}
