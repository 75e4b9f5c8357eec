/**
 * generateObject details: its option errors name it, the records of a tfrecord object at their
 * limit, and an abort reported as its own, before and after the call starts.
 */
import { decodeExample, deletePrefix, generateObject, readHdf5, readNpz, readTfRecords } from '../../lib';
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

test('tfrecord: as many records as bytes is the most there can be, one byte each; one more is refused', async () => {
  const object = await generateObject('tfrecord', 10, { records: 10, seed: 3 });
  const payloads = [...readTfRecords(object.data)].map((record) => {
    const feature = decodeExample(record).get('data');
    return feature?.kind === 'bytes' ? feature.value.map((bytes) => bytes.byteLength) : feature;
  });
  expect(payloads).toEqual(Array(10).fill([1]));
  expect(await rejectionOf(generateObject('tfrecord', 10, { records: 11 }))).toMatchObject({
    code: 'ERR_OUT_OF_RANGE',
  });
});

test.each([0.5, 2 ** 53, Number.NaN])('a label of %p is ERR_INVALID_ARG_VALUE naming options.label', async (label) => {
  expect(await rejectionOf(generateObject('tfrecord', 10, { label }))).toMatchObject({
    code: 'ERR_INVALID_ARG_VALUE',
    message: expect.stringContaining('`options.label`'),
  });
});

test('labels: one per tfrecord record from an array; npz and hdf5 take one; hdf5 has a label dataset only when given', async () => {
  const object = await generateObject('tfrecord', 12, { records: 3, label: [4, 0, 9] });
  const labels = [...readTfRecords(object.data)].map((record) => decodeExample(record).get('label')?.value);
  expect(labels).toEqual([BigInt64Array.of(4n), BigInt64Array.of(0n), BigInt64Array.of(9n)]);
  expect(readNpz((await generateObject('npz', 4, { label: [6] })).data).get('label')!.data).toEqual(
    BigInt64Array.of(6n),
  );
  const labelled = await readHdf5((await generateObject('hdf5', 4, { label: [2] })).data);
  expect([...labelled.keys()].sort()).toEqual(['data', 'label']);
  expect(labelled.get('label')!.data).toEqual(BigInt64Array.of(2n));
  expect([...(await readHdf5((await generateObject('hdf5', 4)).data)).keys()]).toEqual(['data']);
});

test.each<[string, unknown]>([
  ['too few labels', [1, 2]],
  ['too many labels', [1, 2, 3, 4]],
  ['a fractional label', [1, 2.5, 3]],
  ['a string', '1'],
])('%s is a typed error naming options.label', async (_case, label) => {
  const error = await rejectionOf(generateObject('tfrecord', 12, { records: 3, label: label as number[] }));
  expect(error).toMatchObject({ code: expect.stringMatching(/^ERR_INVALID_ARG_(VALUE|TYPE)$/) });
  expect((error as Error).message).toContain('`options.label`');
});
