/**
 * s3dlio for Node: one URI-based storage API over s3://, az://, gs://, file:// and direct://.
 *
 * @example
 * import { put, get, list } from 's3dlio';
 * await put('file:///tmp/data/a.bin', new Uint8Array(1024));
 * const bytes = await get('direct:///tmp/data/a.bin');
 */
export {
  copy,
  createBucket,
  createWriter,
  deleteBucket,
  deleteMany,
  deleteObject as delete,
  deleteObject,
  deletePrefix,
  exists,
  get,
  getInto,
  getMany,
  getRange,
  getStream,
  getWebStream,
  list,
  listBuckets,
  listStream,
  put,
  putMany,
  rename,
  stat,
} from './api';
export type { CopyOptions } from './api';
export { configureDefaultStore, storeFor, type StoreOptions } from './stores';
export { crc32c } from './checksum';
export { DataGenerator, fillRandom, generateData, type DataGenOptions } from './datagen';
export { FileStore, type FileStoreOptions, type PageCacheMode } from './backends/file';
export { DirectStore, type DirectStoreOptions } from './backends/direct';
export type {
  BatchOptions,
  DeleteBucketOptions,
  GetOptions,
  ListOptions,
  ObjectStat,
  ObjectStore,
  OperationOptions,
  PutData,
  PutItem,
  PutOptions,
  RenameOptions,
  StreamOptions,
  WriteResult,
  WriterOptions,
} from './object-store';
export { ObjectWriter } from './engine/writer';
export {
  download,
  upload,
  type DownloadOptions,
  type TransferOptions,
  type TransferProgress,
  type TransferResult,
  type UploadOptions,
} from './engine/transfer';
export { BatchError, S3dlioError, type ErrorCode, type S3dlioErrorDetails } from './errors';
export { ACCEPTED_SCHEMES, parseUri, type ParsedUri, type Scheme } from './uri';
export { allocAligned, buildInfo, directIoInfo, type DirectIoInfo, type NativeBuildInfo } from './public-native';
export {
  decodeExample,
  encodeExample,
  encodeHdf5,
  encodeNpy,
  encodeNpz,
  encodeTfRecords,
  formatTfRecordIndex,
  FORMAT_EXTENSIONS,
  generateObject,
  HDF5_MAX_BYTES,
  maskedCrc32c,
  NPY_DTYPES,
  OBJECT_FORMATS,
  parseNpy,
  parseTfRecordIndex,
  readHdf5,
  readNpz,
  readTfRecordAt,
  readTfRecords,
  TFRECORD_OVERHEAD,
  type EncodedTfRecords,
  type ExampleFeature,
  type ExampleFeatureInput,
  type GeneratedObject,
  type GenerateObjectOptions,
  type Hdf5Dataset,
  type Hdf5DatasetInput,
  type Hdf5Options,
  type Hdf5ReadOptions,
  type NpyArray,
  type NpyDtype,
  type NpyEncodeOptions,
  type NpyInput,
  type NpyRawInput,
  type NpyTypedArray,
  type NpzReadOptions,
  type NumericArray,
  type ObjectFormat,
  type Sidecar,
  type TfRecordIndexEntry,
  type TfRecordReadOptions,
} from './formats';
export * from './loader';
