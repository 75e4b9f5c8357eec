/**
 * The op-log's formatter thread: batches of recorded operations (columns of numbers, and strings)
 * come in, lines (one zstd frame per batch for a .zst log) go back, in order. Formatting and
 * compressing here keeps that work off the thread the I/O runs on.
 */
import { parentPort, workerData } from 'worker_threads';

import { compressFrame } from '../engine/zstd';
import type { FormatterReply, FormatterRequest, FormatterSettings } from './batch';
import { LineEncoder } from './line-encoder';

const settings = workerData as FormatterSettings;
const port = parentPort;
const encoder = new LineEncoder(settings.clientId, settings.origin);

/** The bytes of a request: a batch's lines, or its text. */
function bytesOf(request: FormatterRequest): Uint8Array {
  return request.kind === 'text'
    ? new Uint8Array(Buffer.from(request.text))
    : encoder.encode(request.columns, request.firstIdx);
}

/** Requests are answered in the order they came, one reply each. */
let chain: Promise<void> = Promise.resolve();
port?.on('message', (request: FormatterRequest) => {
  chain = chain.then(async () => {
    let reply: FormatterReply;
    try {
      const text = bytesOf(request);
      const bytes = settings.compress ? await compressFrame(text, settings.level) : text;
      reply = { seq: request.seq, bytes };
    } catch (error) {
      reply = { seq: request.seq, error: String((error as Error)?.stack ?? error) };
    }
    port.postMessage(reply, reply.bytes ? [reply.bytes.buffer as ArrayBuffer] : []);
  });
});
