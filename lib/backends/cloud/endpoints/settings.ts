/**
 * The multi-endpoint options every cloud store that supports them shares: which endpoints (with
 * their precedence), how requests are spread, and how health is tracked.
 */
import { expectKnownOptions, optionKeys } from '../../../internal/option-keys';
import { invalidType, optionalEnum, optionalPositiveInteger } from '../../../validate';
import { envValue } from '../config';
import { type EndpointsOption, endpointList, fromCommaList } from './endpoint-list';
import {
  DEFAULT_HEALTH,
  ENDPOINT_STRATEGIES,
  type EndpointStrategy,
  type HealthCheckOptions,
  type HealthSettings,
} from './endpoint-set';

/** Options of a store that spreads its requests over several endpoints fronting one storage. */
export interface MultiEndpointOptions {
  /**
   * Several endpoints fronting the same storage: URLs, a range template
   * (`http://10.0.0.{1...8}:9000`), a comma-separated string of either, or the path of a file with
   * one a line. Wins over `endpoint` (env `S3_ENDPOINT_URIS`, below `endpoint`).
   */
  endpoints?: EndpointsOption;
  /** How requests are spread over the healthy endpoints (default `round-robin`). */
  endpointStrategy?: EndpointStrategy;
  /** Health tracking settings, or `false` to never take an endpoint out. */
  healthCheck?: HealthCheckOptions | false;
}

export const MULTI_ENDPOINT_KEYS: { readonly [K in keyof Required<MultiEndpointOptions>]: true } = {
  endpoints: true,
  endpointStrategy: true,
  healthCheck: true,
};

const HEALTH_KEYS = optionKeys<HealthCheckOptions>()({
  failuresToMarkDown: true,
  probeIntervalMs: true,
  maxProbeIntervalMs: true,
  probeTimeoutMs: true,
});

/**
 * The endpoint URLs a store uses, most specific source first: `options.endpoints`, then
 * `options.endpoint`, then `S3_ENDPOINT_URIS`. Undefined: none of them is set (the backend's own
 * default then applies, e.g. `AWS_ENDPOINT_URL`). An endpoint inline in a URI wins over all of
 * these for that URI's requests.
 */
export function endpointsFrom(
  options: MultiEndpointOptions & { endpoint?: string },
  env: NodeJS.ProcessEnv,
  variable: string,
): string[] | undefined {
  if (options.endpoints !== undefined) return endpointList(options.endpoints, 'options.endpoints');
  if (options.endpoint !== undefined) return [options.endpoint];
  const fromEnv = envValue(env, variable);
  return fromEnv === undefined ? undefined : fromCommaList(fromEnv, `process.env.${variable}`);
}

export function strategyFrom(value: unknown): EndpointStrategy {
  return optionalEnum(value, 'options.endpointStrategy', ENDPOINT_STRATEGIES, 'round-robin');
}

export function healthFrom(value: unknown): HealthSettings {
  if (value === false) return { ...DEFAULT_HEALTH, enabled: false };
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw invalidType('options.healthCheck', 'an object of health settings or false', value);
  }
  const given = expectKnownOptions(value, HEALTH_KEYS, 'a multi-endpoint store', 'options.healthCheck');
  const number = (key: keyof HealthCheckOptions): number =>
    optionalPositiveInteger(given[key], `options.healthCheck.${key}`, DEFAULT_HEALTH[key]);
  const settings: HealthSettings = {
    enabled: true,
    failuresToMarkDown: number('failuresToMarkDown'),
    probeIntervalMs: number('probeIntervalMs'),
    maxProbeIntervalMs: number('maxProbeIntervalMs'),
    probeTimeoutMs: number('probeTimeoutMs'),
  };
  settings.maxProbeIntervalMs = Math.max(settings.maxProbeIntervalMs, settings.probeIntervalMs);
  return settings;
}
