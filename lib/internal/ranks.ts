/**
 * Which rank this process is of how many, as distributed launchers say it (torchrun, mpirun with
 * the usual exports): options first, then the environment's `RANK` and `WORLD_SIZE`, else rank 0
 * of 1. The data loader and checkpoints agree on it through this one reading.
 */
import { invalidValue, optionalPositiveInteger } from '../validate';

/** This process's place among the ranks of a job. */
export interface RankPlace {
  rank: number;
  worldSize: number;
}

/** An environment variable that must hold a non-negative integer when set. */
function envInteger(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw invalidValue(`env ${name}`, 'a non-negative integer', raw);
  return value;
}

/** `rank` and `worldSize` from the options, else from `RANK` and `WORLD_SIZE`, checked together. */
export function rankPlace(options: { rank?: unknown; worldSize?: unknown }): RankPlace {
  const worldSize = optionalPositiveInteger(options.worldSize ?? envInteger('WORLD_SIZE'), 'options.worldSize', 1);
  const rank = options.rank ?? envInteger('RANK') ?? 0;
  if (typeof rank !== 'number' || !Number.isSafeInteger(rank) || rank < 0 || rank >= worldSize) {
    throw invalidValue('options.rank', `an integer in [0, ${worldSize}) (worldSize ${worldSize})`, rank);
  }
  return { rank, worldSize };
}
