/**
 * encodeNpz and readNpz at their edges: what is not a name → array mapping, an empty name, and an
 * archive member that is not an .npy array, each refused with a code that says which.
 */
import { encodeNpy, encodeNpz, readNpz } from '../../lib';
import { thrownBy } from '../helpers/local';
import { handMadeZip } from '../helpers/zip';

test.each([
  ['null', null],
  ['a number', 42],
  ['an array', [Uint8Array.of(1)]],
  ['a typed array', Uint8Array.of(1)],
])('encodeNpz of %s is ERR_INVALID_ARG_TYPE naming arrays', (_what, arrays) => {
  expect(thrownBy(() => encodeNpz(arrays as never))).toMatchObject({
    code: 'ERR_INVALID_ARG_TYPE',
    message: expect.stringContaining('`arrays`'),
  });
});

test('an empty array name is ERR_INVALID_ARG_VALUE (numpy could not load it back)', () => {
  expect(thrownBy(() => encodeNpz({ '': Uint8Array.of(1) }))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
});

test('a member that is not an .npy array is ERR_BAD_FORMAT naming it; one that is reads', () => {
  const npy = encodeNpy(Uint8Array.of(7));
  const archive = handMadeZip([
    { name: 'a.npy', stored: npy },
    { name: 'notes.txt', stored: Uint8Array.from(Buffer.from('hello')) },
  ]);
  expect(thrownBy(() => readNpz(archive))).toMatchObject({
    code: 'ERR_BAD_FORMAT',
    message: expect.stringContaining('member "notes.txt" is not an .npy array'),
  });
  expect(readNpz(handMadeZip([{ name: 'a.npy', stored: npy }])).get('a')?.data).toEqual(Uint8Array.of(7));
});
