/**
 * The state of one CLI run: the global options, the reporter, and the abort signal that Ctrl-C
 * fires. Global connection options become the default stores of the schemes a command names.
 */
import { setMaxListeners } from 'events';

import { configureDefaultStore } from '../stores';
import { type Scheme, parseUri } from '../uri';
import type { Reporter } from './reporter';
import { CliUsageError } from './usage-error';
import type { EndpointStrategy } from '../backends/cloud/endpoints/endpoint-set';
import type { S3StoreOptions } from '../backends/cloud/s3';
import type { AzureStoreOptions } from '../backends/cloud/azure/store';
import type { GcsStoreOptions } from '../backends/cloud/gcs';

/** Options that every command accepts. */
export interface GlobalOptions {
  endpointUrl?: string;
  endpoints?: string;
  endpointStrategy?: EndpointStrategy;
  ioThreads?: string;
  region?: string;
  /** `--profile`: a named profile of the shared AWS files (s3://). */
  profile?: string;
  caBundle?: string;
  opLog?: string;
  verbose: number;
  json: boolean;
  progress: boolean;
  /** `--quiet`: results and failures only. */
  quiet?: boolean;
}

/** One run of the CLI. */
export class CliContext {
  private readonly controller = new AbortController();
  /** Set once Ctrl-C (or SIGTERM) was received. */
  interruptedBy: NodeJS.Signals | undefined;

  constructor(
    readonly globals: GlobalOptions,
    readonly reporter: Reporter,
  ) {
    // Every operation in flight (-j of them) listens to this signal.
    setMaxListeners(0, this.controller.signal);
  }

  /** Fires on Ctrl-C: every operation of the command takes it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Cancels all in-flight work (the first Ctrl-C). */
  interrupt(signal: NodeJS.Signals): void {
    if (this.interruptedBy) return;
    this.interruptedBy = signal;
    this.reporter.interrupted = true;
    this.controller.abort(new Error(`interrupted by ${signal}`));
  }

  /**
   * Checks the URIs a command names (a bad one is a usage error) and configures the default store
   * of each cloud scheme among them from --endpoint-url, --endpoints, --endpoint-strategy, --region,
   * --profile and --ca-bundle. An option that cannot apply is an error, never ignored.
   */
  useUris(...uris: string[]): void {
    const schemes = new Set<Scheme>();
    for (const uri of uris) {
      let scheme: Scheme;
      try {
        scheme = parseUri(uri).scheme;
      } catch (error) {
        throw new CliUsageError((error as Error).message);
      }
      // An in-memory store ends with the process: a command would write into nothing.
      if (scheme === 'mem') {
        throw new CliUsageError(`${uri}: mem:// lives inside one process, so a command cannot use it`);
      }
      schemes.add(scheme);
    }
    const cloud = [...schemes].filter((scheme) => CLOUD_SCHEMES.includes(scheme));
    const { endpointUrl, endpoints, endpointStrategy, region, profile, caBundle } = this.globals;
    const ioThreads = ioThreadsFlag(this.globals.ioThreads);
    if (ioThreads !== undefined && cloud.length === 0) {
      throw new CliUsageError('--io-threads applies to s3://, az:// and gs:// URIs; this command names none');
    }
    if (endpoints !== undefined || endpointStrategy !== undefined) {
      const flag = endpoints !== undefined ? '--endpoints' : '--endpoint-strategy';
      if (!cloud.includes('s3')) throw new CliUsageError(`${flag} applies to s3:// URIs only`);
      if (endpoints !== undefined && endpointUrl !== undefined) {
        throw new CliUsageError('--endpoints and --endpoint-url both name where requests go: give one');
      }
      if (endpointStrategy !== undefined && endpoints === undefined) {
        throw new CliUsageError('--endpoint-strategy needs --endpoints (several endpoints to choose from)');
      }
    }
    if (endpointUrl !== undefined) {
      if (cloud.length !== 1) {
        throw new CliUsageError(
          cloud.length === 0
            ? '--endpoint-url applies to s3://, az:// and gs:// URIs; this command names none'
            : `--endpoint-url is ambiguous for a command on ${cloud.map((s) => `${s}://`).join(' and ')}; ` +
                'set AWS_ENDPOINT_URL, an Azure connection string or STORAGE_EMULATOR_HOST instead',
        );
      }
      checkEndpoint(endpointUrl);
    }
    if (region !== undefined && !cloud.includes('s3')) throw new CliUsageError('--region applies to s3:// URIs only');
    if (profile !== undefined && !cloud.includes('s3')) {
      throw new CliUsageError('--profile (an AWS profile) applies to s3:// URIs only');
    }
    // gs:// requests are partly the SDK's own, with no per-client CA: refused rather than half-applied.
    if (
      caBundle !== undefined &&
      (cloud.includes('gs') || !cloud.some((scheme) => scheme === 's3' || scheme === 'az'))
    ) {
      throw new CliUsageError(
        '--ca-bundle applies to s3:// and az:// URIs; for gs:// start Node with NODE_EXTRA_CA_CERTS=<file>',
      );
    }
    for (const scheme of cloud) {
      // Filled key by key for the scheme at hand; the store refuses a key that is not its own.
      const options: S3StoreOptions & AzureStoreOptions & GcsStoreOptions = {};
      if (endpointUrl !== undefined) options.endpoint = endpointUrl;
      if (scheme === 's3' && region !== undefined) options.region = region;
      if (scheme === 's3' && profile !== undefined) {
        options.profile = profile;
        // The command line wins over the environment (as with `aws --profile`); the SDK uses the
        // profile too, but warns on stderr when keys are also in the environment.
        for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'])
          delete process.env[name];
      }
      if (scheme === 's3' && endpoints !== undefined) options.endpoints = endpoints;
      if (scheme === 's3' && endpointStrategy !== undefined) options.endpointStrategy = endpointStrategy;
      if ((scheme === 's3' || scheme === 'az') && caBundle !== undefined) options.caBundle = caBundle;
      if (ioThreads !== undefined) options.ioThreads = ioThreads;
      if (Object.keys(options).length === 0) continue;
      try {
        configureDefaultStore(`${scheme}://configured/`, options);
      } catch (error) {
        // A bad endpoint list or template is the user's input: a usage error, in one line.
        if (error instanceof RangeError || error instanceof TypeError) throw new CliUsageError(error.message);
        throw error;
      }
    }
  }
}

/** `--io-threads`: a whole number from 0 to 256 (the store checks the range). */
function ioThreadsFlag(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw))
    throw new CliUsageError(`--io-threads takes a whole number of threads, not ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** The schemes --endpoint-url, --endpoints, --region and --ca-bundle configure. */
const CLOUD_SCHEMES: readonly Scheme[] = ['s3', 'az', 'gs'];

function checkEndpoint(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliUsageError(`invalid --endpoint-url '${url}': expected http(s)://host[:port]`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliUsageError(`invalid --endpoint-url '${url}': expected http(s)://host[:port]`);
  }
}
