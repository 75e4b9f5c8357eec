/**
 * Messages between the main thread and an I/O thread, sent in batches: everything posted in one
 * turn of the event loop goes as one message. A message wakes the other thread, and a batch of 32
 * requests (a getMany, a RangeEngine's ranges) costs one wake-up instead of 32.
 */
export class MessageBatch<T> {
  private items: T[] = [];
  private transfer: ArrayBuffer[] = [];
  private scheduled = false;

  constructor(private readonly send: (items: T[], transfer: ArrayBuffer[]) => void) {}

  /** Queues `item`; `transfer`: a buffer handed over with it (no copy; unusable here afterwards). */
  add(item: T, transfer?: ArrayBuffer): void {
    this.items.push(item);
    if (transfer) this.transfer.push(transfer);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    const { items, transfer } = this;
    this.items = [];
    this.transfer = [];
    this.scheduled = false;
    this.send(items, transfer);
  }
}
