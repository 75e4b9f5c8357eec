/**
 * What the recorder hands its formatter thread: operations as columns (numbers in typed arrays
 * that move without a copy, strings as arrays; endpoints and error codes interned), and the
 * messages both ways.
 */
import type { OpLogOp, WallTime } from './format';

/** Operations by their index in the `ops` column. */
export const OPLOG_OPS: readonly OpLogOp[] = ['GET', 'PUT', 'DELETE', 'LIST', 'STAT', 'COPY', 'MOVE'];
const OP_INDEX = new Map(OPLOG_OPS.map((op, index) => [op, index]));

/** A batch of operations, column by column. */
export interface Columns {
  count: number;
  ops: Uint8Array;
  threads: Uint32Array;
  objects: Uint32Array;
  bytes: Float64Array;
  /** `performance.now()` milliseconds of the recording thread. */
  starts: Float64Array;
  ends: Float64Array;
  /** NaN where the first byte's time is not known. */
  firstBytes: Float64Array;
  files: string[];
  /** Indices into `strings`. */
  endpoints: Uint16Array;
  errors: Uint16Array;
  /** The endpoints and error codes the batch names. */
  strings: string[];
}

/** What the formatter is told once. */
export interface FormatterSettings {
  clientId: string;
  compress: boolean;
  level: number;
  /** The wall-clock time of `performance.now()` = 0 on the recording thread (clock offset included). */
  origin: WallTime;
}

/** A batch to format, or text (the header, a comment) to write as it is. */
export type FormatterRequest =
  { kind: 'batch'; seq: number; firstIdx: number; columns: Columns } | { kind: 'text'; seq: number; text: string };

/** The bytes of one request, or why there are none. */
export interface FormatterReply {
  seq: number;
  bytes?: Uint8Array;
  error?: string;
}

/** Fills a batch, one operation at a time. */
export class ColumnsBuilder {
  private columns: Columns;
  private readonly interned = new Map<string, number>();

  constructor(private readonly capacity: number) {
    this.columns = ColumnsBuilder.empty(capacity);
  }

  private static empty(capacity: number): Columns {
    return {
      count: 0,
      ops: new Uint8Array(capacity),
      threads: new Uint32Array(capacity),
      objects: new Uint32Array(capacity),
      bytes: new Float64Array(capacity),
      starts: new Float64Array(capacity),
      ends: new Float64Array(capacity),
      firstBytes: new Float64Array(capacity),
      files: [],
      endpoints: new Uint16Array(capacity),
      errors: new Uint16Array(capacity),
      strings: [],
    };
  }

  get count(): number {
    return this.columns.count;
  }

  get full(): boolean {
    return this.columns.count >= this.capacity;
  }

  private intern(text: string): number {
    let index = this.interned.get(text);
    if (index === undefined) {
      index = this.columns.strings.length;
      this.columns.strings.push(text);
      this.interned.set(text, index);
    }
    return index;
  }

  add(
    op: OpLogOp,
    thread: number,
    objects: number,
    bytes: number,
    endpoint: string,
    file: string,
    error: string,
    start: number,
    end: number,
    firstByte: number,
  ): void {
    const c = this.columns;
    const i = c.count++;
    c.ops[i] = OP_INDEX.get(op) as number;
    c.threads[i] = thread;
    c.objects[i] = objects;
    c.bytes[i] = bytes;
    c.starts[i] = start;
    c.ends[i] = end;
    c.firstBytes[i] = firstByte;
    c.files.push(file);
    c.endpoints[i] = this.intern(endpoint);
    c.errors[i] = this.intern(error);
  }

  /** The batch so far (its arrays to be transferred), and a new one started. */
  take(): Columns {
    const taken = this.columns;
    this.columns = ColumnsBuilder.empty(this.capacity);
    this.interned.clear();
    return taken;
  }
}

/** The buffers of a batch, to transfer rather than copy. */
export function transferList(columns: Columns): ArrayBuffer[] {
  return [
    columns.ops,
    columns.threads,
    columns.objects,
    columns.bytes,
    columns.starts,
    columns.ends,
    columns.firstBytes,
    columns.endpoints,
    columns.errors,
  ].map((array) => array.buffer as ArrayBuffer);
}
