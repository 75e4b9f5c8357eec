/**
 * The frame every public operation runs in: caller stack captured before the first await, the
 * AbortSignal wired to native cancellation, and every failure turned into an S3dlioError.
 */
import { setMaxListeners } from 'events';

import { CallSite, S3dlioError, abortError, toS3dlioError } from './errors';
import { type OptionKeys, expectKnownOptions } from './internal/option-keys';
import type { CancelFlag } from './native';
import type { OperationOptions } from './object-store';
import { optionalSignal } from './validate';

/**
 * Cancellation state of one running operation. Everything is created on first use: an operation
 * that never reads `signal` or `cancelFlag` (a small local read) pays one listener on the caller's
 * signal, and nothing at all without one.
 */
export class OperationScope {
  private readonly callerSignal: AbortSignal | undefined;
  private readonly onCallerAbort = (): void => this.fire();
  private fired = false;
  private linked: AbortController | undefined;
  private flag: CancelFlag | undefined;
  private aborted: Promise<never> | undefined;
  private rejectAborted: ((error: unknown) => void) | undefined;

  constructor(
    /** The public operation, for error messages. */
    readonly operation: string,
    /** The URI the operation is about, for error messages. */
    readonly uri: string,
    /** The caller's signal, if any. */
    callerSignal: AbortSignal | undefined,
  ) {
    this.callerSignal = callerSignal;
    if (callerSignal?.aborted) this.fire();
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  /**
   * The signal the operation's work listens to: aborted with the caller's reason when the caller's
   * signal fires. Internal work (dozens of ranges, retries, timeouts) adds its listeners here, not
   * to the caller's signal, so it never trips Node's MaxListeners warning on the caller's object.
   */
  get signal(): AbortSignal | undefined {
    if (!this.callerSignal) return undefined;
    if (!this.linked) {
      this.linked = new AbortController();
      setMaxListeners(0, this.linked.signal);
      if (this.fired) this.linked.abort(this.callerSignal.reason);
    }
    return this.linked.signal;
  }

  /** Shared with native jobs, which poll it between chunks (undefined: nothing can cancel). */
  get cancelFlag(): CancelFlag | undefined {
    if (!this.callerSignal) return undefined;
    if (!this.flag) {
      this.flag = new Int32Array(new SharedArrayBuffer(4));
      if (this.fired) Atomics.store(this.flag, 0, 1);
    }
    return this.flag;
  }

  private fire(): void {
    if (this.fired) return;
    this.fired = true;
    const reason = this.callerSignal?.reason;
    if (this.flag) Atomics.store(this.flag, 0, 1);
    this.linked?.abort(reason);
    this.rejectAborted?.(abortError(this.operation, this.uri, reason));
  }

  /** Throws ERR_ABORTED if the signal has fired (call between steps of multi-step operations). */
  throwIfAborted(): void {
    if (this.fired) throw abortError(this.operation, this.uri, this.callerSignal?.reason);
  }

  /**
   * Settles with `work` or rejects as soon as the signal fires. Only for work whose abandonment is
   * harmless (reads): the native job stops at its next chunk and its memory goes to GC.
   */
  race<T>(work: Promise<T>): Promise<T> {
    if (!this.callerSignal) return work;
    if (this.fired) {
      work.catch(() => undefined); // abandoned: its failure is not news
      return Promise.reject(abortError(this.operation, this.uri, this.callerSignal.reason));
    }
    if (!this.aborted) {
      this.aborted = new Promise<never>((_, reject) => (this.rejectAborted = reject));
      // Nobody may be racing this promise any more when it rejects; never report it as unhandled.
      this.aborted.catch(() => undefined);
    }
    return Promise.race([work, this.aborted]);
  }

  dispose(): void {
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}

/**
 * Runs `body` as the public operation `operation` on `uri`. Must be called synchronously from
 * the public entry point so the captured stack includes the user's frames. Validation of
 * `options` (a key not in `keys` included) happens inside, so bad arguments reject the returned
 * promise instead of throwing.
 */
export async function runOperation<T, O extends OperationOptions>(
  operation: string,
  uri: unknown,
  options: O | undefined,
  keys: OptionKeys<O>,
  body: (scope: OperationScope, options: Partial<O>) => Promise<T>,
): Promise<T> {
  const callSite = new CallSite();
  const label = typeof uri === 'string' ? uri : '';
  let scope: OperationScope | undefined;
  try {
    const opts = expectKnownOptions(options, keys, operation);
    scope = new OperationScope(operation, label, optionalSignal(opts.signal));
    scope.throwIfAborted();
    return await body(scope, opts);
  } catch (error) {
    let wrapped = toS3dlioError(error, operation, label);
    // Errors raised before any I/O (URI parsing) do not know the operation yet.
    if (wrapped instanceof S3dlioError && wrapped.operation === undefined) {
      Object.defineProperty(wrapped, 'operation', { value: operation, enumerable: true });
    }
    // A native job that saw the cancel flag reports ECANCELED, and a step may label its abort
    // with its own name: report the caller's abort of this operation, with the signal's reason.
    const signal = scope?.signal;
    if (
      signal?.aborted &&
      wrapped instanceof S3dlioError &&
      wrapped.code === 'ERR_ABORTED' &&
      (wrapped.cause !== signal.reason || wrapped.operation !== operation)
    ) {
      wrapped = abortError(operation, label, signal.reason);
    }
    throw callSite.attach(wrapped);
  } finally {
    scope?.dispose();
  }
}

const warned = new Set<string>();

/** Emits a process warning once per `key` (used for the documented, opt-in degradations). */
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(message, { code: key, type: 'S3dlioWarning' });
}
