/**
 * Caller memory that can vanish (lib/internal/memory.ts): a transferred ArrayBuffer is detached,
 * a resizable one can shrink under a view. The checks the operations run across awaits, on their
 * own; test/safety covers the operations that use them.
 */
import { assertAttached, bufferDetached, isDetached, privateCopy } from '../../lib/internal/memory';
import { thrownBy } from '../helpers/local';

/** An ArrayBuffer of `size` bytes, and the same buffer once transferred away (detached). */
function detachedBuffer(size = 8): ArrayBuffer {
  const buffer = new ArrayBuffer(size);
  structuredClone(buffer, { transfer: [buffer] });
  return buffer;
}

/** A view of `size` bytes whose buffer was then transferred away (a view cannot be made after). */
function detachedView(size: number): Uint8Array {
  const view = new Uint8Array(size);
  structuredClone(view.buffer, { transfer: [view.buffer] });
  return view;
}

describe('isDetached', () => {
  test.each<[string, () => ArrayBufferLike, boolean]>([
    ['an ArrayBuffer', () => new ArrayBuffer(8), false],
    ['an empty ArrayBuffer', () => new ArrayBuffer(0), false],
    ['a SharedArrayBuffer', () => new SharedArrayBuffer(8), false],
    ['an empty SharedArrayBuffer', () => new SharedArrayBuffer(0), false],
    ['a transferred ArrayBuffer', () => detachedBuffer(8), true],
    ['a transferred empty ArrayBuffer', () => detachedBuffer(0), true],
  ])('%s → %s', (_label, make, expected) => {
    expect(isDetached(make())).toBe(expected);
  });
});

describe('assertAttached and privateCopy', () => {
  test('a view still covering its length of an attached buffer passes', () => {
    const view = new Uint8Array(16);
    expect(() => assertAttached(view, 16, 'data')).not.toThrow();
    expect(() => assertAttached(new Uint8Array(0), 0, 'data')).not.toThrow();
  });

  test('a detached buffer, or a view shorter than it was, is ERR_BUFFER_DETACHED naming the argument', () => {
    for (const [target, length] of [
      [detachedView(8), 8],
      [detachedView(0), 0],
      [new Uint8Array(4), 8],
    ] as const) {
      const error = thrownBy(() => assertAttached(target, length, 'target'));
      expect(error).toMatchObject({ code: 'ERR_BUFFER_DETACHED' });
      expect(error.message).toContain('`target`');
    }
  });

  test('a view of a resizable buffer that shrank under it is caught by its length', () => {
    const resizable = new (
      ArrayBuffer as unknown as new (
        size: number,
        options: { maxByteLength: number },
      ) => ArrayBuffer & {
        resize(size: number): void;
      }
    )(16, { maxByteLength: 32 });
    const view = new Uint8Array(resizable);
    expect(() => assertAttached(view, 16, 'data')).not.toThrow();
    resizable.resize(8);
    expect(thrownBy(() => assertAttached(view, 16, 'data'))).toMatchObject({ code: 'ERR_BUFFER_DETACHED' });
  });

  test('the error carries its code as an enumerable property, like a native one', () => {
    const error = bufferDetached('data');
    expect(Object.keys(error)).toEqual(['code']);
    expect(error.code).toBe('ERR_BUFFER_DETACHED');
  });

  test('privateCopy: the same bytes in memory of its own; a detached source is refused', () => {
    const source = new Uint8Array([1, 2, 3, 4]);
    const copy = privateCopy(source.subarray(1), 'data');
    expect([...copy]).toEqual([2, 3, 4]);
    expect(copy.buffer).not.toBe(source.buffer);
    source.fill(9);
    expect([...copy]).toEqual([2, 3, 4]);
    expect(thrownBy(() => privateCopy(detachedView(4), 'data'))).toMatchObject({
      code: 'ERR_BUFFER_DETACHED',
    });
  });
});
