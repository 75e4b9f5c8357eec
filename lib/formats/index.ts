/**
 * Object formats of AI/ML datasets: NumPy `.npy`/`.npz`, TFRecord with `tf.train.Example`, HDF5,
 * and synthetic objects in each of them ({@link generateObject}).
 */
export type { NumericArray } from './common';
export {
  encodeNpy,
  parseNpy,
  NPY_DTYPES,
  type NpyArray,
  type NpyDtype,
  type NpyEncodeOptions,
  type NpyInput,
  type NpyRawInput,
  type NpyTypedArray,
} from './npy';
export { encodeNpz, readNpz, type NpzReadOptions } from './npz';
export {
  encodeTfRecords,
  formatTfRecordIndex,
  maskedCrc32c,
  parseTfRecordIndex,
  readTfRecordAt,
  readTfRecords,
  TFRECORD_OVERHEAD,
  type EncodedTfRecords,
  type TfRecordIndexEntry,
  type TfRecordReadOptions,
} from './tfrecord';
export { decodeExample, encodeExample, type ExampleFeature, type ExampleFeatureInput } from './example';
export {
  encodeHdf5,
  HDF5_MAX_BYTES,
  readHdf5,
  type Hdf5Dataset,
  type Hdf5DatasetInput,
  type Hdf5Options,
  type Hdf5ReadOptions,
} from './hdf5';
export {
  FORMAT_EXTENSIONS,
  generateObject,
  OBJECT_FORMATS,
  syntheticLabels,
  type GeneratedObject,
  type GenerateObjectOptions,
  type ObjectFormat,
  type Sidecar,
  type SyntheticLabelOptions,
} from './generate';
