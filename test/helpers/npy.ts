import type { NpyDtype } from '../../lib';

/** Bytes per element of each NPY dtype, written out here (not taken from lib/) so tests check it. */
export const NPY_ITEM_SIZE: Record<NpyDtype, number> = {
  '|b1': 1,
  '|u1': 1,
  '|i1': 1,
  '<u2': 2,
  '<i2': 2,
  '<u4': 4,
  '<i4': 4,
  '<u8': 8,
  '<i8': 8,
  '<f4': 4,
  '<f8': 8,
};
