/**
 * The zstd compression thread (see zstd-thread.ts): each request's bytes become one frame, sent
 * back with its buffer transferred.
 */
import { parentPort } from 'worker_threads';

import { compressFrame } from './zstd';
import type { ZstdReply, ZstdRequest } from './zstd-thread';

const port = parentPort;
port?.on('message', (request: ZstdRequest) => {
  compressFrame(request.bytes, request.level).then(
    (bytes) => {
      const reply: ZstdReply = { id: request.id, bytes };
      port.postMessage(reply, [bytes.buffer as ArrayBuffer]);
    },
    (error: unknown) => {
      const reply: ZstdReply = { id: request.id, error: String((error as Error)?.stack ?? error) };
      port.postMessage(reply);
    },
  );
});
