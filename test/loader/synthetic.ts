/**
 * An in-memory Dataset subclass for the loader's own tests (the loader reads any Dataset): item i
 * is 16 bytes of value i, after an optional delay; it records what the loader asks of it.
 */
import { Dataset, type FetchOptions } from '../../lib/loader/dataset';

export interface SyntheticItem {
  uri: string;
  data: Uint8Array;
  size: number;
  index: number;
}

export interface SyntheticOptions {
  /** Delay before item i resolves (ms). */
  delayMs?: (index: number) => number;
  /** Items that fail. */
  failAt?: ReadonlySet<number>;
  size?: number;
}

export class SyntheticDataset extends Dataset<SyntheticItem> {
  inFlight = 0;
  maxInFlight = 0;
  started = 0;
  /** get() calls that ended because the loader aborted them. */
  aborted = 0;
  /** Set by the test's consumer: items it has received so far. */
  consumed = 0;
  /** Largest started-but-not-consumed count seen when a fetch started. */
  maxOutstanding = 0;

  constructor(
    readonly length: number,
    private readonly options: SyntheticOptions = {},
  ) {
    super();
  }

  source(index: number): string {
    return `mem://items/${index}`;
  }

  async get(index: number, options?: FetchOptions): Promise<SyntheticItem> {
    this.started++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.maxOutstanding = Math.max(this.maxOutstanding, this.started - this.consumed);
    try {
      await new Promise<void>((resolve, reject) => {
        const signal = options?.signal;
        if (signal?.aborted) return reject(new Error('aborted'));
        const timer = setTimeout(resolve, this.options.delayMs?.(index) ?? 0);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            this.aborted++;
            reject(new Error('aborted'));
          },
          { once: true },
        );
      });
      if (this.options.failAt?.has(index)) throw new Error(`item ${index} is unreadable`);
      const size = this.options.size ?? 16;
      return { uri: this.source(index), data: new Uint8Array(size).fill(index % 256), size, index };
    } finally {
      this.inFlight--;
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
