/**
 * Azure credentials and the clients built with them: which credential an az:// store uses
 * (options, then environment, then DefaultAzureCredential), one BlobServiceClient per credential,
 * account and endpoint (one connection pool each), and the credential's account checks. Secrets
 * stay in #private fields and are remembered for redaction.
 */
import { leanTransport } from '../http/transport';
import type { HttpTransport, IoThreads } from '../http/io-threads';
import type * as http from 'http';
import * as net from 'net';

import type * as AzIdentity from '@azure/identity';
import type * as AzBlob from '@azure/storage-blob';

import {
  type ConnectionSettings,
  caBundleFrom,
  connectionSettingsFrom,
  isLoopbackHost,
  transportFrom,
} from '../config';
import { type CloudFailure, redactSecrets, rememberSecrets } from '../errors';
import { invalidValue } from '../../../validate';
import type { CloudRef } from '../driver';
import { proxyAwareAgents } from '../http/proxy-agent';
import { AzureDataPath } from './data-path';
import type { AzureStoreOptions, AzureTokenCredential } from './options';
import { lazyPackage } from '../sdk';

type BlobSdk = typeof AzBlob;
type IdentitySdk = typeof AzIdentity;

const loadSdk = lazyPackage<BlobSdk>('az', '@azure/storage-blob');
const loadIdentity = lazyPackage<IdentitySdk>('az', '@azure/identity');

/** `https://account.blob.core.windows.net/` at the start of a URI. */
export const HTTPS_FORM = /^https:\/\/([^/.]+)\.blob\.core\.windows\.net(?:\/|$)/i;

/** A failure the driver itself decides (not an SDK error). Its name becomes the cause's name. */
export class DriverFailure extends Error {
  constructor(
    name: string,
    readonly failure: CloudFailure,
  ) {
    super(failure.message);
    this.name = name;
  }
}

/** The account named by a base (`az://account/…` or `https://account.blob.core.windows.net/…`). */
export function accountOf(base: string): string {
  const https = HTTPS_FORM.exec(base);
  if (https) return https[1].toLowerCase();
  return base.slice('az://'.length).split('/')[0];
}

/** Where the credential came from: decides how a client is built and what it may serve. */
type Credential =
  | { kind: 'connection-string'; source: string }
  | { kind: 'sas'; source: string }
  | { kind: 'key'; source: string; onlyAccount?: string }
  | { kind: 'token'; credential: AzureTokenCredential }
  | { kind: 'default' };

/** A string option that holds a secret: its value never appears in an error. */
function secretOption(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw Object.assign(new TypeError(`Expected a non-empty string for \`${name}\``), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  }
  return value;
}

/** The secret parts of a connection string, SAS token or key: the whole, keys and signatures. */
function credentialSecrets(source: string): string[] {
  const parts = [source];
  for (const match of source.matchAll(/(?:AccountKey|SharedAccessSignature)=([^;]+)/gi)) parts.push(match[1]);
  for (const match of source.matchAll(/(?:^|[?&;=])sig=([^&;]+)/gi)) parts.push(match[1]);
  return parts;
}

/** The credential of one az:// store and the clients it made. */
export class AzureClients {
  // Whatever holds a secret (the credential, clients whose URL carries a SAS or whose pipeline
  // holds a key) is in #private fields: `util.inspect(store)` never shows them.
  readonly #credential: Credential;
  readonly #clients = new Map<string, AzBlob.BlobServiceClient>();
  readonly #dataPaths = new Map<string, AzureDataPath>();
  /** The lean transport's connections (undefined: every request goes through the SDK). */
  private readonly pool: HttpTransport | undefined;
  #defaultCredential?: AzIdentity.TokenCredential;
  /** The account a connection string names, once it was parsed. */
  #connectionStringAccount?: string;
  /** The blob endpoint of the connection string in use, without its query (a SAS). */
  #connectionStringUrl?: string;
  private readonly endpoint?: URL;
  /** `endpoint` came from the options: it wins over a connection string's own endpoint. */
  private readonly explicitEndpoint: boolean;
  private readonly connection: ConnectionSettings;
  /** PEM certificates trusted instead of Node's set (`caBundle`), for both transports. */
  private readonly ca: string | undefined;
  private agents?: { httpAgent: http.Agent; httpsAgent: http.Agent };
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: AzureStoreOptions, env: NodeJS.ProcessEnv) {
    this.#credential = AzureClients.credentialFrom(options, env);
    if ('source' in this.#credential) rememberSecrets(...credentialSecrets(this.#credential.source));
    this.connection = connectionSettingsFrom(options, env);
    const endpoint = options.endpoint ?? (env.AZURE_STORAGE_ENDPOINT || undefined);
    if (endpoint !== undefined) this.endpoint = AzureClients.endpointUrl(endpoint, options.endpoint !== undefined);
    this.explicitEndpoint = options.endpoint !== undefined;
    this.env = env;
    this.ca = caBundleFrom(options.caBundle);
    const transport = transportFrom(options.transport, env, 'S3DLIO_AZURE_TRANSPORT');
    this.pool = leanTransport(this.connection, transport, this.ca, env);
    // A missing SDK package is found when the store is made, not in the middle of a job.
    loadSdk();
    if (this.#credential.kind === 'default') loadIdentity();
  }

  /** Whether blob bodies travel on the lean path (Put Blob and Put Block send the caller's memory). */
  get lean(): boolean {
    return this.pool !== undefined;
  }

  /** The I/O threads that move blob bodies, if any. */
  get threads(): IoThreads | undefined {
    return this.pool?.threads;
  }

  /** The lean path of `ref`'s client, or undefined with the SDK transport. */
  dataPath(ref: Pick<CloudRef, 'base'>): AzureDataPath | undefined {
    if (!this.pool) return undefined;
    const client = this.client(ref);
    const key = this.clientKey(ref);
    let path = this.#dataPaths.get(key);
    if (!path) {
      path = new AzureDataPath(client, this.pool);
      this.#dataPaths.set(key, path);
    }
    return path;
  }

  private static credentialFrom(options: AzureStoreOptions, env: NodeJS.ProcessEnv): Credential {
    const connectionString = secretOption(options.connectionString, 'options.connectionString');
    if (connectionString) return { kind: 'connection-string', source: connectionString };
    const sasToken = secretOption(options.sasToken, 'options.sasToken');
    if (sasToken) return { kind: 'sas', source: sasToken.replace(/^\?/, '') };
    const accountKey = secretOption(options.accountKey, 'options.accountKey');
    if (accountKey) return { kind: 'key', source: accountKey };
    if (options.credential !== undefined) {
      const given = options.credential as Partial<AzureTokenCredential> | null;
      if (typeof given !== 'object' || given === null || typeof given.getToken !== 'function') {
        throw Object.assign(
          new TypeError(
            'Expected a token credential (an object with getToken(), e.g. from @azure/identity) for `options.credential`',
          ),
          { code: 'ERR_INVALID_ARG_TYPE' },
        );
      }
      return { kind: 'token', credential: options.credential };
    }
    if (env.AZURE_STORAGE_CONNECTION_STRING)
      return { kind: 'connection-string', source: env.AZURE_STORAGE_CONNECTION_STRING };
    if (env.AZURE_STORAGE_SAS_TOKEN) return { kind: 'sas', source: env.AZURE_STORAGE_SAS_TOKEN.replace(/^\?/, '') };
    if (env.AZURE_STORAGE_KEY)
      return { kind: 'key', source: env.AZURE_STORAGE_KEY, onlyAccount: env.AZURE_STORAGE_ACCOUNT || undefined };
    return { kind: 'default' };
  }

  private static endpointUrl(value: unknown, fromOptions: boolean): URL {
    const name = fromOptions ? 'options.endpoint' : 'process.env.AZURE_STORAGE_ENDPOINT';
    let url: URL | undefined;
    try {
      url = typeof value === 'string' ? new URL(value) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash || url.username || url.password) {
      // Not echoed as given: a URL with a query may carry a SAS.
      throw invalidValue(name, 'a blob service URL http(s)://host[:port][/path]', redactSecrets(String(value)));
    }
    return url;
  }

  container(ref: CloudRef): AzBlob.ContainerClient {
    return this.client(ref).getContainerClient(ref.bucket);
  }

  /** Clients are created once per (credential, account, endpoint) and reused: one connection pool. */
  clientKey(ref: Pick<CloudRef, 'base'>): string {
    const credential = this.#credential;
    const account = accountOf(ref.base);
    if (credential.kind === 'connection-string' && !this.explicitEndpoint) return credential.kind;
    return `${credential.kind}|${account}|${this.serviceUrl(account)}`;
  }

  client(ref: Pick<CloudRef, 'base'>): AzBlob.BlobServiceClient {
    const key = this.clientKey(ref);
    let client = this.#clients.get(key);
    if (!client) {
      try {
        client = this.createClient(accountOf(ref.base));
      } catch (error) {
        // The SDK refuses a malformed connection string (or credential) when the client is made.
        throw new DriverFailure('InvalidConfiguration', {
          code: 'ERR_INVALID_ARG_VALUE',
          retryable: false,
          message: `cannot configure the Azure client (${this.#credential.kind}): ${(error as Error)?.message ?? String(error)}`,
        });
      }
      this.#clients.set(key, client);
    }
    const credential = this.#credential;
    const account = accountOf(ref.base);
    if (credential.kind === 'connection-string' && this.#connectionStringAccount !== account) {
      throw new DriverFailure('CredentialMismatch', {
        code: 'ERR_ACCESS_DENIED',
        retryable: false,
        message: `the connection string is for account ${JSON.stringify(this.#connectionStringAccount)}, not ${JSON.stringify(account)}`,
      });
    }
    if (credential.kind === 'key' && credential.onlyAccount !== undefined && credential.onlyAccount !== account) {
      throw new DriverFailure('CredentialMismatch', {
        code: 'ERR_ACCESS_DENIED',
        retryable: false,
        message: `AZURE_STORAGE_KEY is the key of account ${JSON.stringify(credential.onlyAccount)} (AZURE_STORAGE_ACCOUNT), not of ${JSON.stringify(account)}`,
      });
    }
    return client;
  }

  /** Where requests of `account` go, as the op-log names it: no credentials, no SAS. */
  requestUrl(account: string): string {
    return this.#connectionStringUrl ?? this.serviceUrl(account);
  }

  /** The blob service URL of an account (no credentials in it). */
  private serviceUrl(account: string): string {
    if (!this.endpoint) return `https://${account}.blob.core.windows.net`;
    const url = this.endpoint.href.replace(/\/+$/, '');
    const pathless = this.endpoint.pathname === '/' || this.endpoint.pathname === '';
    const host = this.endpoint.hostname;
    // Emulators (Azurite) address accounts by path: http://127.0.0.1:10000/devstoreaccount1.
    if (pathless && (isLoopbackHost(host) || net.isIP(host.replace(/^\[|\]$/g, '')) !== 0)) return `${url}/${account}`;
    return url;
  }

  private pipelineOptions(url: string): AzBlob.StoragePipelineOptions & { agent?: http.Agent } {
    return {
      // Retries are ours (retry.ts): one policy for every backend.
      retryOptions: { maxTries: 1 },
      keepAliveOptions: { enable: true },
      // Our agents for every request: the pool size, connect timeout and CA bundle of the
      // options, and the proxy variables as the lean path reads them (CONNECT tunnels; the SDK's
      // own proxy policy steps aside for a given agent, and would drop the CA bundle).
      agent: this.agentFor(url),
    };
  }

  /** Keep-alive agents with the pool size, connect timeout and CA of the options (one per protocol). */
  private agentFor(url: string): http.Agent {
    if (!this.agents) {
      const { connectTimeoutMs, maxSockets } = this.connection;
      this.agents = proxyAwareAgents({
        maxSockets,
        connectTimeoutMs,
        env: this.env,
        ...(this.ca !== undefined && { ca: this.ca }),
      });
    }
    return url.startsWith('https:') ? this.agents.httpsAgent : this.agents.httpAgent;
  }

  private createClient(account: string): AzBlob.BlobServiceClient {
    const { BlobServiceClient, StorageSharedKeyCredential } = loadSdk();
    const credential = this.#credential;
    switch (credential.kind) {
      case 'connection-string': {
        // Parsed once without options to learn its account and the endpoint's protocol (the agent).
        const probe = BlobServiceClient.fromConnectionString(credential.source);
        // A key belongs to the account it is named with (the endpoint's path may say another).
        this.#connectionStringAccount =
          probe.credential instanceof StorageSharedKeyCredential ? probe.credential.accountName : probe.accountName;
        if (!this.explicitEndpoint) {
          const { origin, pathname } = new URL(probe.url);
          this.#connectionStringUrl = `${origin}${pathname}`.replace(/\/+$/, '');
          return BlobServiceClient.fromConnectionString(credential.source, this.pipelineOptions(probe.url));
        }
        // options.endpoint wins over the connection string's endpoint: its key or SAS is used there.
        const url = this.serviceUrl(account);
        const sas = new URL(probe.url).search;
        return new BlobServiceClient(`${url}${sas}`, probe.credential, this.pipelineOptions(url));
      }
      case 'sas': {
        const url = this.serviceUrl(account);
        return new BlobServiceClient(`${url}?${credential.source}`, undefined, this.pipelineOptions(url));
      }
      case 'key': {
        const url = this.serviceUrl(account);
        const key = new StorageSharedKeyCredential(account, credential.source);
        return new BlobServiceClient(url, key, this.pipelineOptions(url));
      }
      case 'token': {
        const url = this.serviceUrl(account);
        return new BlobServiceClient(
          url,
          credential.credential as AzIdentity.TokenCredential,
          this.pipelineOptions(url),
        );
      }
      case 'default': {
        const url = this.serviceUrl(account);
        this.#defaultCredential ??= new (loadIdentity().DefaultAzureCredential)();
        return new BlobServiceClient(url, this.#defaultCredential, this.pipelineOptions(url));
      }
    }
  }
}
