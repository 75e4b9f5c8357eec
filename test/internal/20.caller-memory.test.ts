/**
 * Caller memory that can vanish (lib/internal/memory.ts): a transferred ArrayBuffer is detached,
 * a resizable one can shrink under a view. The checks the operations run across awaits, on their
 * own; test/safety covers the operations that use them.
 */
import * as path from 'path';
import { types } from 'util';

import { assertAttached, bufferDetached, isDetached, privateCopy, sharedBuffer } from '../../lib/internal/memory';
import { REPO_ROOT, runNodeScript } from '../helpers/child';
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

describe('sharedBuffer', () => {
  test('shared memory, zero-filled, of the size asked', () => {
    const view = sharedBuffer(1000);
    expect(types.isSharedArrayBuffer(view.buffer)).toBe(true);
    expect(view.byteLength).toBe(1000);
    expect(view.every((byte) => byte === 0)).toBe(true);
  });

  test('dropped shared buffers are collected as ordinary ones are, not left resident', async () => {
    // 24 × 64 MiB written and dropped: V8 alone would keep most of them (it does not count shared
    // memory); the peak stays far below the 1.5 GiB written.
    const result = await runNodeScript(
      `const { sharedBuffer } = require(ARGS.module);
      const status = (field) => Number(new RegExp('^' + field + ':\\\\s+(\\\\d+) kB', 'm').exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      const before = status('VmRSS');
      let last;
      for (let i = 0; i < 24; i++) { last = sharedBuffer(64 << 20); last.fill(i + 1); }
      console.log('RESULT ' + JSON.stringify({ peak: status('VmHWM') - before, last: last[0] }));`,
      { module: path.join(REPO_ROOT, 'lib', 'internal', 'memory') },
    );
    const { peak, last } = JSON.parse(/RESULT (.*)/.exec(result.stdout)![1]) as { peak: number; last: number };
    expect(last).toBe(24);
    expect(peak).toBeLessThan(768 * 1024 * 1024);
  });
});
