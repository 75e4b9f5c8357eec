/**
 * The endpoints one cloud store sends requests to, each with its own driver (client, connection
 * pool, socket limit), counters and health. With several endpoints (all fronting the same
 * storage), each request goes to one chosen by the strategy; an endpoint that fails with a
 * connection error, a timeout or a 5xx is taken out, probed in the background with backoff, and
 * brought back when it answers. With one endpoint nothing is ever taken out: there is nowhere
 * else to go, so its requests simply fail and retry as before.
 */
import { RequestCounters } from '../../request-counters';
import type { EndpointStats, RequestStats } from '../../../stats';
import type { ErrorCode } from '../../../errors';
import type { CloudDriver } from '../driver';
import { type CloudFailure, classifyNetworkError } from '../errors';

/** How requests are spread over healthy endpoints. */
export type EndpointStrategy = 'round-robin' | 'least-connections';

export const ENDPOINT_STRATEGIES: readonly EndpointStrategy[] = ['round-robin', 'least-connections'];

/** Health tracking of a multi-endpoint store (`options.healthCheck`). */
export interface HealthCheckOptions {
  /** Consecutive failures (5xx, timeouts, broken bodies) that take an endpoint out (default 3). A refused or reset connection takes it out at once. */
  failuresToMarkDown?: number;
  /** First probe of a down endpoint after this many ms (default 250), doubling after each failed probe. */
  probeIntervalMs?: number;
  /** Longest wait between two probes in ms (default 10000). */
  maxProbeIntervalMs?: number;
  /** Time limit of one probe in ms (default 2000). */
  probeTimeoutMs?: number;
}

/** Health settings with every default applied; `enabled: false` when the option is `false`. */
export interface HealthSettings extends Required<HealthCheckOptions> {
  enabled: boolean;
}

export const DEFAULT_HEALTH: HealthSettings = {
  enabled: true,
  failuresToMarkDown: 3,
  probeIntervalMs: 250,
  maxProbeIntervalMs: 10_000,
  probeTimeoutMs: 2_000,
};

/** Failures that say something about the endpoint (not about the object or the request). */
const HEALTH_CODES = new Set(['ERR_CONNECTION', 'ERR_SERVER', 'ERR_TIMEOUT', 'ERR_TRUNCATED_BODY']);
/** Of those, the ones no healthy server produces: the endpoint is out at once. */
const FATAL_MESSAGE = /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|socket hang up/i;

/** One endpoint of a store. */
export class Endpoint {
  readonly counters = new RequestCounters();
  health: 'up' | 'down' = 'up';
  lastFailure: { code: ErrorCode; message: string; at: Date } | undefined;
  downSince: Date | undefined;
  consecutiveFailures = 0;
  /** Wait before the next probe of a down endpoint (doubles after each failed probe). */
  probeDelayMs = 0;

  constructor(
    /** `http(s)://host[:port]`, or `default` (the service's own endpoint). */
    readonly name: string,
    readonly driver: CloudDriver,
  ) {}

  stats(): EndpointStats {
    return {
      endpoint: this.name,
      ...this.counters.snapshot(),
      health: this.health,
      ...(this.lastFailure && { lastFailure: { ...this.lastFailure } }),
      ...(this.downSince && { downSince: this.downSince }),
    };
  }
}

/** Thrown by `pick` when every endpoint is down; its failure (see `failureOf`) is retryable. */
export class NoHealthyEndpointError extends Error {
  readonly code = 'ERR_NO_HEALTHY_ENDPOINT';
}

export class EndpointSet {
  readonly all: readonly Endpoint[];
  private next = 0;
  /** Endpoints named inline in URIs (`s3://host:port/bucket/key`): counted, never taken out. */
  private readonly inline = new Map<string, Endpoint>();

  constructor(
    endpoints: ReadonlyArray<{ name: string; driver: CloudDriver }>,
    private readonly strategy: EndpointStrategy = 'round-robin',
    private readonly health: HealthSettings = DEFAULT_HEALTH,
  ) {
    if (endpoints.length === 0) throw new RangeError('an endpoint set needs at least one endpoint');
    this.all = endpoints.map(({ name, driver }) => new Endpoint(name, driver));
  }

  /** The one endpoint of a store that has one: `name` is its URL, or `default` for the service's. */
  static single(driver: CloudDriver, name = 'default'): EndpointSet {
    return new EndpointSet([{ name, driver }]);
  }

  /** The endpoint a URI names inline (`s3://host:port/bucket/key`), if it names one. */
  forUri(uri: string): Endpoint | undefined {
    const name = this.primary.inlineEndpointOf?.(uri);
    return name === undefined ? undefined : this.inlineEndpoint(name);
  }

  /** The first endpoint of the store (its only one, for most stores). */
  get first(): Endpoint {
    return this.all[0];
  }

  /** The driver for what does not depend on the endpoint (parsing, identities, classification). */
  get primary(): CloudDriver {
    return this.all[0].driver;
  }

  /** Whether endpoints are taken out on failure (several endpoints, health tracking on). */
  private get tracking(): boolean {
    return this.all.length > 1 && this.health.enabled;
  }

  /** The entry of an endpoint named inline in a URI: its requests go through the primary driver. */
  inlineEndpoint(name: string): Endpoint {
    let endpoint = this.inline.get(name);
    if (!endpoint) {
      endpoint = new Endpoint(name, this.primary);
      this.inline.set(name, endpoint);
    }
    return endpoint;
  }

  /**
   * The endpoint of the next request: a healthy one, by the strategy, other than `avoid` (the
   * endpoint of a failed attempt being retried) when another is healthy.
   */
  pick(avoid?: Endpoint): Endpoint {
    if (this.all.length === 1) return this.all[0];
    let candidates = this.all.filter((endpoint) => endpoint.health === 'up');
    if (candidates.length === 0) throw new NoHealthyEndpointError(this.describeDown());
    if (candidates.length > 1 && avoid !== undefined) candidates = candidates.filter((endpoint) => endpoint !== avoid);
    const start = this.next++ % candidates.length;
    if (this.strategy === 'round-robin') return candidates[start];
    // least-connections: the fewest requests in flight; ties go round the list.
    let best = candidates[start];
    for (let offset = 1; offset < candidates.length; offset++) {
      const endpoint = candidates[(start + offset) % candidates.length];
      if (endpoint.counters.inFlight < best.counters.inFlight) best = endpoint;
    }
    return best;
  }

  /**
   * The endpoint a multipart upload of `uri` stays on: the one the URI names, else one the
   * strategy picks. With every endpoint down it is the first: the upload's own requests then
   * fail, or succeed once it is back, instead of the writer failing before it starts.
   */
  forUpload(uri: string): Endpoint {
    const named = this.forUri(uri);
    if (named) return named;
    try {
      return this.pick();
    } catch (error) {
      if (error instanceof NoHealthyEndpointError) return this.all[0];
      throw error;
    }
  }

  /** A request on `endpoint` succeeded. */
  succeeded(endpoint: Endpoint): void {
    endpoint.consecutiveFailures = 0;
  }

  /** A request on `endpoint` failed with `failure`: it may take the endpoint out. */
  failed(endpoint: Endpoint, failure: CloudFailure): void {
    if (!HEALTH_CODES.has(failure.code)) {
      endpoint.consecutiveFailures = 0;
      return;
    }
    endpoint.lastFailure = { code: failure.code, message: failure.message, at: new Date() };
    endpoint.consecutiveFailures++;
    if (!this.tracking || endpoint.health === 'down' || !this.all.includes(endpoint)) return;
    if (FATAL_MESSAGE.test(failure.message) || endpoint.consecutiveFailures >= this.health.failuresToMarkDown) {
      this.markDown(endpoint);
    }
  }

  private markDown(endpoint: Endpoint): void {
    endpoint.health = 'down';
    endpoint.downSince = new Date();
    endpoint.probeDelayMs = this.health.probeIntervalMs;
    this.scheduleProbe(endpoint);
  }

  private scheduleProbe(endpoint: Endpoint): void {
    // The timer holds the set weakly: a store dropped while an endpoint is down stops probing
    // once it is collected, instead of being kept alive by its own probes.
    const set = new WeakRef(this);
    // A down endpoint never keeps the process alive.
    setTimeout(() => void set.deref()?.runProbe(endpoint), endpoint.probeDelayMs).unref();
  }

  private async runProbe(endpoint: Endpoint): Promise<void> {
    // A plain timer, cleared below (AbortSignal.timeout's signal is held weakly; see retry.ts).
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.health.probeTimeoutMs);
    let failure: CloudFailure | undefined;
    try {
      await probe(endpoint.driver, controller.signal);
    } catch (error) {
      failure = this.probeFailure(endpoint, error, controller.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
    if (failure === undefined) {
      endpoint.health = 'up';
      endpoint.downSince = undefined;
      endpoint.consecutiveFailures = 0;
      return;
    }
    endpoint.lastFailure = { code: failure.code, message: failure.message, at: new Date() };
    endpoint.probeDelayMs = Math.min(this.health.maxProbeIntervalMs, endpoint.probeDelayMs * 2);
    this.scheduleProbe(endpoint);
  }

  /** What a failed probe says: a failure that keeps the endpoint down, or none (it answered). */
  private probeFailure(endpoint: Endpoint, error: unknown, timedOut: boolean): CloudFailure | undefined {
    if (timedOut) {
      return {
        code: 'ERR_TIMEOUT',
        retryable: true,
        message: `no answer to a probe within ${this.health.probeTimeoutMs} ms`,
      };
    }
    let failure: CloudFailure;
    try {
      failure = classifyNetworkError(error) ?? endpoint.driver.classify(error);
    } catch (unexpected) {
      // Never let the probe loop die: the endpoint stays down and is probed again.
      return { code: 'ERR_UNEXPECTED', retryable: true, message: `the probe failed: ${String(unexpected)}` };
    }
    return HEALTH_CODES.has(failure.code) ? failure : undefined;
  }

  /** Every endpoint's last failure, for the error that says none is healthy. */
  private describeDown(): string {
    const now = Date.now();
    const each = this.all.map((endpoint) => {
      const last = endpoint.lastFailure;
      const ago = last ? `, ${((now - last.at.getTime()) / 1000).toFixed(1)} s ago` : '';
      return `${endpoint.name} (${last ? `${last.code}: ${last.message}` : 'down'}${ago})`;
    });
    return `no healthy endpoint among ${this.all.length}: ${each.join('; ')}`;
  }

  /** Per-endpoint stats: the configured endpoints, then those named inline in URIs. */
  stats(): EndpointStats[] {
    return [...this.all, ...this.inline.values()].map((endpoint) => endpoint.stats());
  }

  /** The sum over every endpoint. */
  totals(): RequestStats {
    return RequestCounters.total([...this.all, ...this.inline.values()].map((endpoint) => endpoint.counters));
  }
}

/**
 * The default probe: list the buckets. Any answer, an access refusal included, shows the endpoint
 * serves requests; a refused connection, a timeout or a 5xx shows it does not.
 */
async function probe(driver: CloudDriver, signal: AbortSignal): Promise<void> {
  await driver.listBuckets({ base: `${driver.scheme}://` }, signal);
}

/** Whether `error` is the all-endpoints-down refusal of `pick`. */
export function isNoHealthyEndpoint(error: unknown): error is NoHealthyEndpointError {
  return error instanceof NoHealthyEndpointError;
}

/** The failure of the all-endpoints-down refusal: retryable, so a probe has time to bring one back. */
export function noHealthyFailure(error: NoHealthyEndpointError): CloudFailure {
  return { code: 'ERR_NO_HEALTHY_ENDPOINT', retryable: true, message: error.message };
}
