/**
 * What the buffer-detaching suites share (test/safety/10 and 11): the outcome a child process
 * reports for one call, the code its scripts start with, and the rule every outcome must follow.
 */
export const GC = ['--expose-gc'];

/** What a child reports for one call. */
export interface Outcome {
  label: string;
  /** The call resolved. */
  ok: boolean;
  /** The rejection's code, name, uri. */
  code?: string;
  name?: string;
  uri?: string;
  /** Whether the transfer really detached the buffer (false for memory that cannot be). */
  detached: boolean;
  /** The stored object exists / holds exactly the original bytes. */
  exists: boolean;
  same: boolean;
  /** Temporary files left in the object's directory. */
  temps: string[];
}

/** Code shared by the child scripts (after `LIB` and `ARGS`). */
export const PRELUDE = `
  const s3dlio = require(LIB);
  const fs = require('fs');
  const path = require('path');
  const crypto = require('crypto');
  const TEMP = /\\.s3dlio-\\d+-[0-9a-f]{16}\\.tmp$/;

  const digest = (view) => crypto.createHash('sha256').update(view).digest('hex');

  // An input of one of the kinds a caller can pass, filled with random bytes.
  function makeInput(kind, size) {
    let data, buffer, bytes;
    switch (kind) {
      case 'buffer': data = bytes = Buffer.allocUnsafeSlow(size); buffer = data.buffer; break;
      case 'unaligned': { const b = Buffer.allocUnsafeSlow(size + 3); data = bytes = b.subarray(3); buffer = b.buffer; break; }
      case 'arraybuffer': buffer = data = new ArrayBuffer(size); bytes = new Uint8Array(buffer); break;
      case 'dataview': buffer = new ArrayBuffer(size); data = new DataView(buffer); bytes = new Uint8Array(buffer); break;
      case 'float64': buffer = new ArrayBuffer(size); data = new Float64Array(buffer); bytes = new Uint8Array(buffer); break;
      case 'shared': buffer = new SharedArrayBuffer(size); data = bytes = new Uint8Array(buffer); break;
      case 'addon': data = bytes = s3dlio.allocAligned(size); buffer = data.buffer; break;
      case 'addon-unaligned': { const a = s3dlio.allocAligned(size + 1); data = bytes = a.subarray(1); buffer = a.buffer; break; }
      default: throw new Error('unknown kind ' + kind);
    }
    crypto.randomFillSync(bytes);
    return { data, buffer, sha: digest(bytes) };
  }

  // Transfers the buffer away and drops the new owner, so a collection frees its memory.
  function transfer(input, how = 'structuredClone') {
    try {
      if (how === 'postMessage') {
        const { port1, port2 } = new MessageChannel();
        port1.postMessage(input.buffer, [input.buffer]);
        port1.close(); port2.close();
      } else {
        structuredClone(input.buffer, { transfer: [input.buffer] });
      }
    } catch {
      // SharedArrayBuffer: cannot be transferred
    }
    return input.buffer.byteLength === 0;
  }

  // Collects, then fills freshly allocated memory with a pattern: memory freed by the collection is
  // likely reused, so a job reading it would see 0xA5 bytes, not the caller's.
  function collectAndReuse(size) {
    global.gc(); global.gc();
    const keep = [];
    for (let i = 0; i < 4; i++) keep.push(Buffer.alloc(Math.min(Math.max(size, 4096), 16 * 1024 * 1024), 0xa5));
    global.gc();
    return keep.length;
  }

  function fileOf(uri) { return uri.replace(/^[a-z]+:\\/\\//, ''); }

  function stateOf(uri, sha) {
    const file = fileOf(uri);
    const dir = path.dirname(file);
    const temps = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => TEMP.test(n)) : [];
    if (!fs.existsSync(file)) return { exists: false, same: false, temps };
    return { exists: true, same: digest(fs.readFileSync(file)) === sha, temps };
  }

  async function settle(label, promise, uri, sha, detached, state = stateOf) {
    let result;
    try {
      await promise;
      result = { ok: true };
    } catch (error) {
      result = { ok: false, code: error.code, name: error.name, uri: error.uri, message: error.message };
    }
    return { label, detached, ...result, ...(await state(uri, sha)) };
  }
`;

/** Either exactly the original bytes, or ERR_BUFFER_DETACHED (S3dlioError, with the URI) and nothing stored. */
export function expectSafe(outcome: Outcome, uri?: string): void {
  if (outcome.ok) {
    expect(outcome).toMatchObject({ exists: true, same: true });
  } else {
    expect(outcome).toMatchObject({ code: 'ERR_BUFFER_DETACHED', name: 'S3dlioError', exists: false });
    if (uri !== undefined) expect(outcome.uri).toBe(uri);
  }
  expect(outcome.temps).toEqual([]);
}
