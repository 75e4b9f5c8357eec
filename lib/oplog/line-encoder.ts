/**
 * A batch's lines written straight into bytes: digits, interned strings and second-prefixes of
 * timestamps copied as bytes, no string per field. The formatter thread's hot loop; it writes
 * exactly what `formatRecord` writes for the same operation (test/oplog/10 checks it).
 */
import type { Columns } from './batch';
import { OPLOG_OPS } from './batch';
import { type WallTime, quoteField } from './format';

const TAB = 9;
const NEWLINE = 10;
const ZERO = 48;

export class LineEncoder {
  private buffer = Buffer.allocUnsafe(1 << 20);
  private at = 0;
  private second = Number.NaN;
  private prefix = Buffer.alloc(0);
  private readonly ops = OPLOG_OPS.map((op) => Buffer.from(op));
  private readonly client: Buffer;

  constructor(
    clientId: string,
    private readonly origin: WallTime,
  ) {
    this.client = Buffer.from(quoteField(clientId));
  }

  /** The lines of `c`, numbered from `firstIdx`. */
  encode(c: Columns, firstIdx: number): Uint8Array {
    this.at = 0;
    const strings = c.strings.map((text) => Buffer.from(quoteField(text)));
    for (let i = 0; i < c.count; i++) {
      this.ensure(512);
      this.int(firstIdx + i);
      this.tab();
      this.int(c.threads[i]);
      this.tab();
      this.bytes(this.ops[c.ops[i]]);
      this.tab();
      this.bytes(this.client);
      this.tab();
      this.int(c.objects[i]);
      this.tab();
      this.int(c.bytes[i]);
      this.tab();
      this.bytes(strings[c.endpoints[i]]);
      this.tab();
      this.field(c.files[i]);
      this.tab();
      this.bytes(strings[c.errors[i]]);
      this.tab();
      this.time(c.starts[i]);
      this.tab();
      if (!Number.isNaN(c.firstBytes[i])) this.time(c.firstBytes[i]);
      this.tab();
      this.time(c.ends[i]);
      this.tab();
      this.int(Math.max(0, Math.round((c.ends[i] - c.starts[i]) * 1e6)));
      this.buffer[this.at++] = NEWLINE;
    }
    // A copy of its own: the buffer is reused, the result is transferred.
    return new Uint8Array(this.buffer.subarray(0, this.at));
  }

  /** Room for `room` bytes and the rest of a line's fixed-size fields after them. */
  private ensure(room: number): void {
    room += 256;
    if (this.at + room <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + room));
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }

  private tab(): void {
    this.buffer[this.at++] = TAB;
  }

  private bytes(source: Buffer): void {
    const length = source.length;
    this.ensure(length);
    if (length > 64) {
      source.copy(this.buffer, this.at);
    } else {
      // A loop beats a copy call for the few bytes of an op, an endpoint or a time's prefix.
      const { buffer, at } = this;
      for (let i = 0; i < length; i++) buffer[at + i] = source[i];
    }
    this.at += length;
  }

  /**
   * A field as `quoteField` writes it: plain ASCII without a tab, quote or line break (most keys
   * and paths) byte by byte; anything else quoted and encoded as UTF-8.
   */
  private field(value: string): void {
    const length = value.length;
    this.ensure(length);
    const { buffer, at } = this;
    if (length > 0 && value.charCodeAt(0) !== 0x20 && value !== '\\.') {
      let i = 0;
      for (; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80 || code === TAB || code === 0x22 || code === NEWLINE || code === 0x0d) break;
        buffer[at + i] = code;
      }
      if (i === length) {
        this.at += length;
        return;
      }
    }
    this.text(quoteField(value));
  }

  private text(value: string): void {
    this.ensure(value.length * 3);
    this.at += this.buffer.write(value, this.at, 'utf8');
  }

  /** A non-negative integer (below 2^53), in decimal; 32-bit arithmetic for the usual sizes. */
  private int(value: number): void {
    const { buffer } = this;
    if (value < 2 ** 31) {
      let rest = value | 0;
      let at =
        this.at +
        (rest < 10
          ? 1
          : rest < 100
            ? 2
            : rest < 1e3
              ? 3
              : rest < 1e4
                ? 4
                : rest < 1e5
                  ? 5
                  : rest < 1e6
                    ? 6
                    : rest < 1e7
                      ? 7
                      : rest < 1e8
                        ? 8
                        : rest < 1e9
                          ? 9
                          : 10);
      this.at = at;
      do {
        const next = (rest / 10) | 0;
        buffer[--at] = ZERO + rest - next * 10;
        rest = next;
      } while (rest > 0);
      return;
    }
    let digits = 0;
    for (let rest = value; rest >= 1; rest = Math.floor(rest / 10)) digits++;
    let at = this.at + digits;
    this.at = at;
    for (let rest = value; rest >= 1; rest = Math.floor(rest / 10)) buffer[--at] = ZERO + (rest % 10);
  }

  /** `ms` milliseconds after the origin, as RFC 3339 with nanoseconds. */
  private time(ms: number): void {
    const total = this.origin.nanos + ms * 1e6;
    const carry = Math.floor(total / 1e9);
    const seconds = this.origin.seconds + carry;
    if (seconds !== this.second) {
      this.second = seconds;
      this.prefix = Buffer.from(new Date(seconds * 1000).toISOString().slice(0, 20)); // YYYY-MM-DDTHH:MM:SS.
    }
    this.bytes(this.prefix);
    let nanos = Math.min(999_999_999, Math.round(total - carry * 1e9)) | 0;
    const { buffer } = this;
    for (let at = this.at + 8; at >= this.at; at--) {
      const next = (nanos / 10) | 0;
      buffer[at] = ZERO + nanos - next * 10;
      nanos = next;
    }
    this.at += 9;
    this.buffer[this.at++] = 90; // Z
  }
}
