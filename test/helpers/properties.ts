/**
 * fast-check settings of the property suites (test/properties/). Every run draws a fresh random
 * seed; a failure report prints the seed and the counterexample's path. Replay one with
 *
 *   S3DLIO_FC_SEED=<seed> S3DLIO_FC_PATH=<path> npx jest test/properties/<suite>
 *
 * S3DLIO_FC_RUNS_SCALE=<n> runs every property n times as often (longer fuzzing, by hand).
 */
import type * as fc from 'fast-check';

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, not ${JSON.stringify(raw)}`);
  return value;
}

/** fc.assert parameters: `numRuns` (scaled by S3DLIO_FC_RUNS_SCALE), and the replay seed and path if given. */
export function propertyRuns<T>(numRuns: number): fc.Parameters<T> {
  const seed = envNumber('S3DLIO_FC_SEED');
  const path = process.env.S3DLIO_FC_PATH;
  const scale = envNumber('S3DLIO_FC_RUNS_SCALE') ?? 1;
  return {
    numRuns: Math.max(1, Math.round(numRuns * scale)),
    ...(seed !== undefined && { seed }),
    ...(seed !== undefined && path && { path }),
  };
}
