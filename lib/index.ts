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
  listDetailed,
  listStream,
  put,
  putMany,
  rename,
  stat,
  stats,
} from './api';
export type { CopyOptions } from './api';
export {
  configureDefaultStore,
  storeFor,
  type SchemeOf,
  type StoreFor,
  type StoreOptions,
  type StoreOptionsFor,
} from './stores';
export { registerStore, type RegisterStoreOptions } from './registry';
export { MemoryStore, type MemoryStoreOptions } from './backends/memory';
export { crc32c } from './checksum';
export { DataGenerator, fillRandom, generateData, type DataGenOptions, type DataGeneratorOptions } from './datagen';
export { FileStore, type FileStoreOptions, type PageCacheMode } from './backends/local/file';
export { DirectStore, type DirectStoreOptions } from './backends/local/direct';
export { S3Store, type S3CredentialProvider, type S3Credentials, type S3StoreOptions } from './backends/cloud/s3';
export { AzureStore, type AzureStoreOptions } from './backends/cloud/azure/store';
export type { AzureTokenCredential } from './backends/cloud/azure/options';
export { GcsStore, type GcsAuthClient, type GcsStoreOptions } from './backends/cloud/gcs';
export type { CloudCommonOptions, Transport } from './backends/cloud/config';
export type { MultiEndpointOptions } from './backends/cloud/endpoints/settings';
export type {
  BatchOptions,
  DeleteBucketOptions,
  DeletePrefixOptions,
  GetOptions,
  GetRangeOptions,
  ListOptions,
  ListedEntry,
  ListedObject,
  ListedPrefix,
  ObjectStat,
  ObjectStore,
  ObjectWriter,
  OperationOptions,
  PutData,
  PutItem,
  PutManyOptions,
  PutOptions,
  RenameOptions,
  StreamOptions,
  WriteResult,
  WriterOptions,
} from './object-store';
export {
  download,
  upload,
  type DownloadOptions,
  type TransferOptions,
  type TransferProgress,
  type TransferResult,
  type UploadOptions,
} from './transfer';
export { BatchError, S3dlioError, type ErrorCode, type S3dlioErrorDetails } from './errors';
export type {
  EndpointHealth,
  EndpointStats,
  IoThreadStats,
  LatencyStats,
  OpStats,
  RequestStats,
  StoreStats,
} from './stats';
export type { EndpointStrategy, HealthCheckOptions } from './backends/cloud/endpoints/endpoint-set';
export {
  ACCEPTED_SCHEMES,
  parseUri,
  type ParsedUri,
  type Scheme,
  type SchemeAliases,
  type StoreClasses,
  type StoreSchemes,
  type UriLayout,
} from './uri';
export { allocAligned, buildInfo, directIoInfo, type DirectIoInfo, type NativeBuildInfo } from './public-native';
export * from './formats';
export * from './loader';
export * from './checkpoint';
export { startOpLog, stopOpLog, type OpLogOptions } from './oplog/session';
export { readOpLog, type ReadOpLogSourceOptions } from './oplog/source';
export { replay, type ReplayLag, type ReplayOptions, type ReplayProgress, type ReplayReport } from './oplog/replay';
export type { OpLogSummary } from './oplog/recorder';
export type { OpLogEntry, ReadOpLogOptions } from './oplog/reader';
export type { WallTime } from './oplog/format';
export { summarizeOpLog, type OpLatency, type OpLogStats, type OpSummary } from './oplog/summary';
