/** Datasets and the DataLoader: training-pipeline input from any backend. */
export {
  Dataset,
  type DatasetFormat,
  type DatasetItem,
  type DatasetOptions,
  type FetchOptions,
  type NpyItem,
  type NpzItem,
  type PrefixDatasetOptions,
  type TfRecordItem,
} from './dataset';
export { DataLoader, type DataLoaderOptions, type LoaderStats, type SkippedItem } from './data-loader';
