/**
 * The HDF5 worker's life, watched through the real worker_threads.Worker with its instances
 * recorded: a worker that dies on its own (not stopped by us) fails only its own calls and is
 * replaced by the next call; an error event fails its calls with the error's text; a worker that
 * was replaced is never brought back, nor does its exit drop its replacement.
 */
import type { Worker as WorkerType } from 'worker_threads';

const started: WorkerType[] = [];

jest.mock('worker_threads', () => {
  const actual = jest.requireActual<typeof import('worker_threads')>('worker_threads');
  class RecordedWorker extends actual.Worker {
    constructor(...args: ConstructorParameters<typeof actual.Worker>) {
      super(...args);
      started.push(this);
    }
  }
  return { ...actual, Worker: RecordedWorker };
});

// jest hoists the mock above these imports: the library gets the recording Worker.
import { encodeHdf5, readHdf5 } from '../../lib';
import { stopHdf5Worker } from '../../lib/formats/hdf5';
import { rejectionOf } from '../helpers/local';

const small = { name: 'data', data: Uint8Array.of(1, 2, 3) };

afterEach(() => stopHdf5Worker());

test('a worker that exits by itself fails its pending call; the next call runs in a new worker', async () => {
  await encodeHdf5(small); // a worker is running
  const first = started.at(-1)!;
  const pending = encodeHdf5({ name: 'data', data: new Uint8Array(8 << 20) });
  await first.terminate();
  const error = await rejectionOf(pending);
  expect(error).toMatchObject({ code: 'ERR_NATIVE', operation: 'encodeHdf5' });
  expect(error.message).toMatch(/^encodeHdf5: the HDF5 worker exited \(code \d+\)$/);
  const count = started.length;
  const file = await encodeHdf5(small);
  expect(started.length).toBe(count + 1);
  expect((await readHdf5(file)).get('data')!.data).toEqual(small.data);
});

test("an error event fails the worker's pending calls with its text", async () => {
  await encodeHdf5(small);
  const current = started.at(-1)!;
  const pending = encodeHdf5({ name: 'data', data: new Uint8Array(8 << 20) });
  // As Node does for an uncaught exception in a worker: 'error', then the thread ends.
  current.emit('error', new Error('out of memory in the worker'));
  await current.terminate();
  const error = await rejectionOf(pending);
  expect(error).toMatchObject({ code: 'ERR_NATIVE' });
  expect(error.message).toBe('encodeHdf5: the HDF5 worker failed: out of memory in the worker');
  expect((await readHdf5(await encodeHdf5(small))).get('data')!.data).toEqual(small.data);
});

test('the exit of a replaced worker leaves its replacement in use', async () => {
  await encodeHdf5(small);
  const stopping = stopHdf5Worker();
  const replacementCall = encodeHdf5(small); // starts the replacement before the old one exits
  await stopping;
  await replacementCall;
  const count = started.length;
  // Later calls reuse the replacement: no third worker.
  await encodeHdf5(small);
  await readHdf5(await encodeHdf5(small));
  expect(started.length).toBe(count);
});
