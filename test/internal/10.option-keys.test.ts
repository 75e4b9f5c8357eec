/**
 * The closed options objects every public function shares (lib/internal/option-keys.ts), on their
 * own: which keys are refused, the message and code, and which accepted key a misspelling is
 * taken for. test/safety/50 checks that every public function uses them.
 */
import { closestName, expectKnownKeys, expectKnownOptions, optionKeys } from '../../lib/internal/option-keys';
import { thrownBy } from '../helpers/local';

interface Sample {
  signal?: AbortSignal;
  concurrency?: number;
  batchSize?: number;
}
const SAMPLE_KEYS = optionKeys<Sample>()({ signal: true, concurrency: true, batchSize: true });

describe('closestName: the accepted key a misspelling was meant to be', () => {
  test.each<[string, string[], string | undefined]>([
    // Case, `_`, `-` and spaces are ignored.
    ['batch_size', ['batchSize'], 'batchSize'],
    ['Batch-Size', ['batchSize'], 'batchSize'],
    ['BATCH SIZE', ['batchSize'], 'batchSize'],
    // Two neighbours swapped count as one typo: within the one a 4-letter name allows.
    ['tpye', ['type'], 'type'],
    ['sigan', ['signal'], 'signal'],
    // A swap plus two more letters is three typos, too many for a 4-letter name.
    ['tpyexx', ['type'], undefined],
    // Up to a third of the name's length: 3 for `concurrency`.
    ['cncurency', ['concurrency'], 'concurrency'],
    ['concurre', ['concurrency'], 'concurrency'],
    ['conc', ['concurrency'], undefined],
    // Lengths more than 3 apart are never taken for each other, however long the names.
    ['abcdefghijklmnopqrstuvwxyz', ['abcdefghijklmnopqrstuvwxyz1234'], undefined],
    ['abcdefghijklmnopqrstuvwxyz', ['abcdefghijklmnopqrstuvwxyz123'], 'abcdefghijklmnopqrstuvwxyz123'],
    // Nothing near.
    ['xyz', ['signal', 'concurrency'], undefined],
    ['anything', [], undefined],
  ])('%j among %j → %j', (key, names, expected) => {
    expect(closestName(key, names)).toBe(expected);
  });

  test('the nearest of several names wins, and the first of equally near ones', () => {
    expect(closestName('bat', ['bit', 'bot'])).toBe('bit');
    expect(closestName('bat', ['bot', 'bit'])).toBe('bot');
    expect(closestName('concurency', ['currency', 'concurrency'])).toBe('concurrency');
  });
});

describe('expectKnownOptions and expectKnownKeys', () => {
  test('the accepted keys, undefined and an empty object pass through as they are', () => {
    const options = { signal: undefined, concurrency: 2 };
    expect(expectKnownOptions(options, SAMPLE_KEYS, 'sample')).toBe(options);
    expect(expectKnownOptions(undefined, SAMPLE_KEYS, 'sample')).toEqual({});
    expect(() => expectKnownKeys({ batchSize: 1 }, SAMPLE_KEYS, 'sample', 'record')).not.toThrow();
  });

  test('an unknown own key: RangeError ERR_INVALID_ARG_VALUE (an enumerable code) naming the key, the owner, the hint and the accepted keys', () => {
    const error = thrownBy(() => expectKnownOptions({ concurrency: 1, batch_size: 8 }, SAMPLE_KEYS, 'sample'));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe(
      'Unknown option `batch_size` in `options` of sample (did you mean `batchSize`?); accepted: signal, concurrency, batchSize',
    );
    expect(Object.keys(error)).toContain('code');
    expect({ ...error }).toEqual({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  test('the options argument can be named', () => {
    expect(thrownBy(() => expectKnownOptions({ sigal: 1 }, SAMPLE_KEYS, 'sample', 'init')).message).toMatch(
      /^Unknown option `sigal` in `init` of sample \(did you mean `signal`\?\)/,
    );
  });

  test('keys inherited from a prototype are not the caller’s options: ignored', () => {
    const options = Object.create({ inherited: true }) as Sample;
    options.concurrency = 3;
    expect(expectKnownOptions(options, SAMPLE_KEYS, 'sample')).toBe(options);
  });

  test('expectKnownKeys refuses a key of an input record as a key, not an option', () => {
    const error = thrownBy(() => expectKnownKeys({ batchSize: 1, shaep: 2 } as Sample, SAMPLE_KEYS, 'save', 'entry'));
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(error.message).toMatch(/^Unknown key `shaep` in `entry` of save; accepted: /);
  });

  test('a long unknown key is shortened in the message', () => {
    const key = 'k'.repeat(100);
    expect(thrownBy(() => expectKnownOptions({ [key]: 1 }, SAMPLE_KEYS, 'sample')).message).toContain(
      `\`${'k'.repeat(60)}…\``,
    );
  });
});
