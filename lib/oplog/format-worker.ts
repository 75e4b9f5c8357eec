/**
 * The op-log's formatter thread: batches of recorded operations (columns of numbers, and strings)
 * come in, lines (one zstd frame per batch for a .zst log) go back, in order. Formatting and
 * compressing here keeps that work off the thread the I/O runs on.
 */
import { parentPort, workerData } from 'worker_threads';

import { compressFrame } from '../engine/zstd';
import { OPLOG_OPS, type FormatterSettings, type FormatterRequest, type FormatterReply } from './batch';
import { type WallTime, addNanos, formatRecord } from './format';

const settings = workerData as FormatterSettings;
const port = parentPort;

/** `performance.now()` milliseconds of the main thread as wall-clock time. */
const wallTime = (ms: number): WallTime => addNanos(settings.origin, ms * 1e6);

function linesOf(request: FormatterRequest): string {
  if (request.kind === 'text') return request.text;
  const { columns: c, firstIdx } = request;
  let text = '';
  for (let i = 0; i < c.count; i++) {
    text += formatRecord(firstIdx + i, settings.clientId, {
      thread: c.threads[i],
      op: OPLOG_OPS[c.ops[i]],
      objects: c.objects[i],
      bytes: c.bytes[i],
      endpoint: c.strings[c.endpoints[i]],
      file: c.files[i],
      error: c.strings[c.errors[i]],
      start: wallTime(c.starts[i]),
      firstByte: Number.isNaN(c.firstBytes[i]) ? undefined : wallTime(c.firstBytes[i]),
      end: wallTime(c.ends[i]),
    });
  }
  return text;
}

/** Requests are answered in the order they came, one reply each. */
let chain: Promise<void> = Promise.resolve();
port?.on('message', (request: FormatterRequest) => {
  chain = chain.then(async () => {
    let reply: FormatterReply;
    try {
      const text = Buffer.from(linesOf(request));
      const bytes = settings.compress ? await compressFrame(text, settings.level) : new Uint8Array(text);
      reply = { seq: request.seq, bytes };
    } catch (error) {
      reply = { seq: request.seq, error: String((error as Error)?.stack ?? error) };
    }
    port.postMessage(reply, reply.bytes ? [reply.bytes.buffer as ArrayBuffer] : []);
  });
});
