/** Datasets and the DataLoader: training-pipeline input from any backend. */
export {
  Dataset,
  type DatasetCommonOptions,
  type DatasetFormat,
  type DatasetItem,
  type DatasetItemOf,
  type DatasetOptions,
  type FetchOptions,
  type NpyDatasetOptions,
  type NpyItem,
  type NpzDatasetOptions,
  type NpzItem,
  type PrefixDatasetOptions,
  type PrefixListingOptions,
  type RawDatasetOptions,
  type TfRecordDatasetOptions,
  type TfRecordItem,
} from './dataset';
export { DataLoader, type DataLoaderOptions, type LoaderStats, type SkippedItem } from './data-loader';
export { type EvenShards } from './sampling';
