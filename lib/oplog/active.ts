/**
 * The op-log being recorded, if any: stores look here at every request (one read of a module
 * variable when no log runs). A store that writes the log itself is marked unlogged, so that a
 * log written to a store URI does not log its own writes.
 */
import type { OpLogRecorder } from './recorder';

let active: OpLogRecorder | undefined;
const unlogged = new WeakSet<object>();

/** The running recorder, or undefined. */
export function activeOpLog(): OpLogRecorder | undefined {
  return active;
}

/** Makes `recorder` the running one (undefined: none runs). */
export function setActiveOpLog(recorder: OpLogRecorder | undefined): void {
  active = recorder;
}

/** Whether `store`'s requests are kept out of the log. */
export function isUnlogged(store: object): boolean {
  return unlogged.has(store);
}

/** Keeps `store`'s requests out of the log (the store the log is written through). */
export function markUnlogged(store: object): void {
  unlogged.add(store);
}
