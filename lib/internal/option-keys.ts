/**
 * Options objects are closed: a key the API does not know is refused with `ERR_INVALID_ARG_VALUE`
 * and a "did you mean" hint, never ignored (a misspelled `signal` would silently disable an abort).
 * Each key list is tied to its options interface at compile time: a field added to the interface
 * but not to the list (or the reverse) does not compile.
 */
import { expectOptions } from '../validate';

declare const optionsOf: unique symbol;

/** The keys an options object of type `O` may have (build one with {@link optionKeys}). */
export interface OptionKeys<O extends object> {
  /** The accepted keys, in the order messages list them. */
  readonly names: readonly string[];
  readonly set: ReadonlySet<string>;
  /** Type-level only: ties the list to its interface. */
  readonly [optionsOf]?: O;
}

/**
 * `optionKeys<GetOptions>()({ signal: true, rangeThreshold: true, … })`: the object must name every
 * key of `O` and no other (tsc checks both: the parameter is typed from `keyof O`, and an object
 * literal with an extra property is an error).
 */
export function optionKeys<O extends object>(): (keys: { [K in keyof Required<O>]: true }) => OptionKeys<O> {
  return (keys) => {
    const names = Object.freeze(Object.keys(keys));
    return Object.freeze({ names, set: new Set(names) });
  };
}

/**
 * Validates an optional options object (`undefined` or a plain object) whose own keys must all be
 * in `keys`. `owner` names what takes the options in the message (`get`, `a file:// store`, ...).
 * `refused` maps keys that users bring from elsewhere (another backend's option) to the reason
 * this owner cannot honour them and what to do instead, so they get that instead of a guess.
 */
export function expectKnownOptions<O extends object>(
  value: unknown,
  keys: OptionKeys<O>,
  owner: string,
  name = 'options',
  refused: Readonly<Record<string, string>> = {},
): Partial<O> {
  const options = expectOptions<O>(value, name);
  for (const key in options) {
    if (!keys.set.has(key) && Object.prototype.hasOwnProperty.call(options, key)) {
      if (Object.prototype.hasOwnProperty.call(refused, key)) {
        throw invalidArgValue(`\`${name}.${key}\` is not supported by ${owner}: ${refused[key]}`);
      }
      throw unknownKey('option', key, keys.names, owner, name);
    }
  }
  return options;
}

/**
 * For an input record (`{ dtype, shape, data }`, …) already known to be an object: a key not in
 * `keys` is refused like an unknown option, since a misspelled optional field would be ignored.
 */
export function expectKnownKeys<O extends object>(value: O, keys: OptionKeys<O>, owner: string, name: string): void {
  for (const key of Object.keys(value)) if (!keys.set.has(key)) throw unknownKey('key', key, keys.names, owner, name);
}

function unknownKey(noun: string, key: string, names: readonly string[], owner: string, name: string): RangeError {
  const shown = key.length > 60 ? `${key.slice(0, 60)}…` : key;
  const guess = closestName(key, names);
  const hint = guess === undefined ? '' : ` (did you mean \`${guess}\`?)`;
  const accepted = names.length === 0 ? 'none' : names.join(', ');
  return invalidArgValue(`Unknown ${noun} \`${shown}\` in \`${name}\` of ${owner}${hint}; accepted: ${accepted}`);
}

function invalidArgValue(message: string): RangeError {
  const error = new RangeError(message);
  Object.defineProperty(error, 'code', { value: 'ERR_INVALID_ARG_VALUE', enumerable: true });
  return error;
}

/** Lowercase, without `_`, `-` and spaces: `batch_size`, `Batch-Size` and `batchSize` are the same. */
function normalise(key: string): string {
  // Stryker disable next-line MethodExpression: both sides of every comparison go through here, so upper case compares the same
  return key.replace(/[-_\s]/g, '').toLowerCase();
}

/**
 * The accepted key `key` was probably meant to be: the nearest once case and `_`/`-` are ignored
 * (the same name is at distance 0), within a few typos (optimal string alignment distance, at most
 * a third of its length); the first of equally near names.
 */
export function closestName(key: string, names: readonly string[]): string | undefined {
  const wanted = normalise(key);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const distance = editDistance(wanted, normalise(name));
    if (distance <= Math.max(1, Math.floor(name.length / 3)) && distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edits (insert, delete, substitute, swap two neighbours) turning `a` into `b`. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Infinity;
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, rows[i - 2][j - 2] + 1);
      rows[i][j] = value;
    }
  }
  return rows[a.length][b.length];
}
