/**
 * The HDF5 worker: runs h5wasm off the main thread for lib/formats/hdf5.ts, one request at a time.
 * HDF5 reports errors by printing its error stack and returning an error code, which h5wasm does
 * not always turn into an exception (a failed H5Dcreate is silent): the worker captures what is
 * printed during each call and fails the call when anything was, quoting HDF5's own reason.
 */
import fs from 'fs';
import { parentPort, workerData } from 'worker_threads';

let printed = [];
// The HDF5 library writes its error stack to file descriptor 2 through fs.writeSync (emscripten's
// NODERAWFS); JavaScript-side messages use console.error. Both are captured.
const writeSync = fs.writeSync;
fs.writeSync = function (fd, buffer, offset, length, ...rest) {
  if (fd !== 2) return writeSync.call(fs, fd, buffer, offset, length, ...rest);
  if (typeof buffer === 'string') printed.push(buffer);
  else
    printed.push(
      Buffer.from(
        buffer.buffer,
        buffer.byteOffset + (offset || 0),
        length === undefined ? buffer.byteLength - (offset || 0) : length,
      ).toString('utf8'),
    );
  return typeof buffer === 'string'
    ? Buffer.byteLength(buffer)
    : length === undefined
      ? buffer.byteLength - (offset || 0)
      : length;
};
console.error = (...args) => {
  printed.push(args.join(' ') + '\n');
};
console.warn = console.error;
const loading = import(workerData.entry).then(async (h5) => {
  await h5.ready;
  return h5;
});

function check(what) {
  if (printed.length === 0) return;
  const text = printed.join('');
  const minors = [...text.matchAll(/minor: (.*)/g)].map((m) => m[1].trim());
  const frames = [...text.matchAll(/ in (\w+\(\)): (.*)/g)].map((m) => m[1] + ': ' + m[2].trim());
  const detail =
    [minors[minors.length - 1], frames[frames.length - 1]].filter(Boolean).join(' — ') || text.slice(0, 500);
  throw new Error(what + ': ' + detail);
}

function open(h5, file, mode) {
  const handle = new h5.File(file, mode);
  if (Number(handle.file_id) < 0) {
    check('cannot open the file');
    throw new Error('cannot open the file');
  }
  return handle;
}

function write(h5, request) {
  const file = open(h5, request.file, 'w');
  try {
    for (const d of request.datasets) {
      file.create_dataset({ name: d.name, data: d.data, shape: d.shape });
      check('cannot create dataset ' + JSON.stringify(d.name));
    }
  } finally {
    file.close();
  }
  check('cannot write the file');
  return [];
}

function read(h5, request) {
  const file = open(h5, request.file, 'r');
  try {
    const names = request.datasets || file.paths().filter((p) => file.get(p) instanceof h5.Dataset);
    return names.map((name) => {
      const dataset = file.get(name);
      if (!(dataset instanceof h5.Dataset)) return { name, missing: true };
      const m = dataset.metadata;
      const out = { name, type: m.type, size: m.size, signed: m.signed, littleEndian: m.littleEndian, shape: m.shape };
      out.bytes = m.size * m.total_size;
      // Integers (class 0) and floats (class 1) within the heap budget only: the rest is reported, not read.
      if ((m.type === 0 || m.type === 1) && !m.vlen && out.bytes <= request.maxBytes) out.data = dataset.value;
      check('cannot read dataset ' + JSON.stringify(name));
      return out;
    });
  } finally {
    file.close();
  }
}

parentPort.on('message', async (request) => {
  try {
    const h5 = await loading;
    printed = [];
    const result = request.op === 'write' ? write(h5, request) : read(h5, request);
    const transfer = result
      .filter((r) => r.data && r.data.byteLength === r.data.buffer.byteLength)
      .map((r) => r.data.buffer);
    parentPort.postMessage({ id: request.id, result }, transfer);
  } catch (error) {
    parentPort.postMessage({ id: request.id, error: String((error && error.message) || error) });
  }
});
