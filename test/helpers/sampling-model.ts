/**
 * An independent model of the loader's shuffle, written from its specification in BigInt
 * arithmetic (no `| 0` or `>>> 0` tricks), so a slip in the library's 32-bit arithmetic shows up
 * as a different order:
 * - state: four splitmix32-finalised words from (seed low word, seed high word, epoch, epoch·31 + low);
 * - generator: sfc32 (a, b, c, counter), 12 outputs discarded;
 * - bounded draws by rejection (no modulo bias), then a Fisher–Yates shuffle from the end.
 */
const MASK = (1n << 32n) - 1n;
const u32 = (value: bigint): bigint => value & MASK;

function mix(value: bigint): bigint {
  let z = u32(value + 0x9e3779b9n);
  z = u32((z ^ (z >> 16n)) * 0x85ebca6bn);
  z = u32((z ^ (z >> 13n)) * 0xc2b2ae35n);
  return z ^ (z >> 16n);
}

function generator(seed: number, epoch: number): () => bigint {
  const low = u32(BigInt(seed));
  const high = u32(BigInt(seed) >> 32n);
  const e = BigInt(epoch);
  let a = mix(low);
  let b = mix(high ^ 0x6a09e667n);
  let c = mix(u32(e) ^ 0xbb67ae85n);
  let counter = mix(u32(e * 31n + low) ^ 0x3c6ef372n);
  const next = (): bigint => {
    const t = u32(a + b + counter);
    counter = u32(counter + 1n);
    a = b ^ (b >> 9n);
    b = u32(c + (c << 3n));
    c = u32(u32((c << 21n) | (c >> 11n)) + t);
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

function below(next: () => bigint, bound: number): number {
  const n = BigInt(bound);
  const limit = (1n << 32n) - ((1n << 32n) % n);
  for (;;) {
    const value = next();
    if (value < limit) return Number(value % n);
  }
}

/** The order the model gives for `length` items shuffled with `(seed, epoch)`. */
export function modelEpochOrder(length: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length }, (_, i) => i);
  const next = generator(seed, epoch);
  for (let i = length - 1; i > 0; i--) {
    const j = below(next, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
