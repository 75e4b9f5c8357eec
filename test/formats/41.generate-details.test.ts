/**
 * generateObject details: its option errors name it, and an abort is reported as its own, before
 * and after the call starts.
 */
import { deletePrefix, generateObject } from '../../lib';
import { stopHdf5Worker } from '../../lib/formats/hdf5';
import { rejectionOf } from '../helpers/local';

afterAll(() => stopHdf5Worker());

test('a misspelled option names generateObject', async () => {
  expect(await rejectionOf(generateObject('raw', 10, { sed: 1 } as never))).toMatchObject({
    code: 'ERR_INVALID_ARG_VALUE',
    message: expect.stringContaining('generateObject'),
  });
});

test('an aborted signal is ERR_ABORTED of generateObject, before any byte is made', async () => {
  const signal = AbortSignal.abort(new Error('stop'));
  for (const format of ['raw', 'npz', 'tfrecord', 'hdf5'] as const) {
    expect(await rejectionOf(generateObject(format, 1024, { signal }))).toMatchObject({
      code: 'ERR_ABORTED',
      operation: 'generateObject',
    });
  }
});

test('an abort right after the call stops an HDF5 generation with ERR_ABORTED', async () => {
  const controller = new AbortController();
  const making = generateObject('hdf5', 4 << 20, { signal: controller.signal });
  controller.abort(new Error('stop'));
  expect(await rejectionOf(making)).toMatchObject({ code: 'ERR_ABORTED' });
});

test('deletePrefix names allowProtectedPaths when it is not a boolean', async () => {
  expect(
    await rejectionOf(deletePrefix('file:///tmp/s3dlio-none/', { allowProtectedPaths: 'yes' as never })),
  ).toMatchObject({
    code: 'ERR_INVALID_ARG_TYPE',
    message: expect.stringContaining('options.allowProtectedPaths'),
  });
});
