/**
 * Caller memory that can vanish: an ArrayBuffer is detached by a transfer (`structuredClone(buf,
 * { transfer })`, `postMessage`, `ArrayBuffer.prototype.transfer`, `WebAssembly.Memory.grow`) at
 * any await. Code that reads a caller's buffer across awaits checks it with these helpers, and
 * work that outlives the call (an SDK sending a body over several event-loop turns) gets a copy.
 */
import { types } from 'util';

/** Whether `buffer` is a detached ArrayBuffer (a SharedArrayBuffer never is). */
export function isDetached(buffer: ArrayBufferLike): boolean {
  // Stryker disable next-line ConditionalExpression,LogicalOperator: a fast path; the checks below answer false for these buffers too
  if (buffer.byteLength > 0 || types.isSharedArrayBuffer(buffer)) return false;
  const flag = (buffer as { detached?: unknown }).detached; // Node >= 22
  if (typeof flag === 'boolean') return flag;
  try {
    new Uint8Array(buffer, 0, 0); // throws on a detached buffer, even for 0 bytes
    return false;
  } catch {
    return true;
  }
}

/**
 * The error for a buffer detached before or during an operation (code ERR_BUFFER_DETACHED).
 * A plain Error with a code, like a native one: the operation wraps it with its URI.
 */
export function bufferDetached(name: string): Error & { code: 'ERR_BUFFER_DETACHED' } {
  const error = new Error(
    `the ArrayBuffer of \`${name}\` was detached (transferred to another owner) while the operation needed it`,
  ) as Error & { code: 'ERR_BUFFER_DETACHED' };
  Object.defineProperty(error, 'code', { value: 'ERR_BUFFER_DETACHED', enumerable: true });
  return error;
}

/**
 * Throws ERR_BUFFER_DETACHED unless `view` still covers `length` bytes of an attached buffer
 * (a detached or shrunk resizable buffer leaves a shorter view).
 */
export function assertAttached(view: ArrayBufferView, length: number, name: string): void {
  if (view.byteLength !== length || isDetached(view.buffer)) throw bufferDetached(name);
}

/** A copy of `bytes` in memory only the library holds: nobody else can detach or change it. */
export function privateCopy(bytes: Uint8Array, name: string): Uint8Array {
  if (isDetached(bytes.buffer)) throw bufferDetached(name);
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength);
  copy.set(bytes);
  return new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
}

/** ArrayBuffers the library allocated and has not handed to anyone yet able to detach them. */
const libraryOwned = new WeakSet<ArrayBufferLike>();

/**
 * A buffer of `size` bytes, not zero-filled and not from the shared pool, which the library
 * allocated itself: a socket may read straight into it (see {@link undetachable}).
 */
export function libraryBuffer(size: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(size);
  libraryOwned.add(buffer.buffer);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, size);
}

/** Keeps each shared buffer's ballast (see {@link sharedBuffer}) exactly as long as the buffer. */
const ballasts = new WeakMap<SharedArrayBuffer, Buffer>();

/**
 * `size` bytes of shared memory (zero-filled), which I/O threads read and write in place. A
 * SharedArrayBuffer is never detached.
 *
 * V8's collector does not count a SharedArrayBuffer's memory: dropped ones pile up until a
 * collection happens for some other reason (12 dropped buffers of 256 MiB kept 3.9 GB resident,
 * where ordinary ones kept 0.8 GB). Each gets an ordinary buffer of the same size beside it,
 * never written (so it takes no resident memory), which the collector does count.
 */
export function sharedBuffer(size: number): Uint8Array {
  const memory = new SharedArrayBuffer(size);
  ballasts.set(memory, Buffer.allocUnsafeSlow(size));
  return new Uint8Array(memory);
}

/**
 * Whether nobody can detach `view`'s memory while a read into it is pending: memory the library
 * allocated (it reaches the caller only once every read into it has settled) or shared memory. A
 * read that outlives an event-loop turn (a socket's) goes straight only into such memory; caller
 * memory is filled by copies, each checked, because freed memory would be written otherwise.
 */
export function undetachable(view: ArrayBufferView): boolean {
  return libraryOwned.has(view.buffer) || types.isSharedArrayBuffer(view.buffer);
}
