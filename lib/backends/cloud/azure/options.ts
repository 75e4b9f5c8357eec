/** The options of an az:// store, and the keys it accepts. */
import { CLOUD_COMMON_KEYS, type CloudCommonOptions, type Transport } from '../config';
import { optionKeys } from '../../../internal/option-keys';

/**
 * Options of an az:// store. Credentials: the first one given among the options (connection
 * string, SAS token, account key, token credential), else among the environment variables in the same order, else
 * `DefaultAzureCredential` (managed identity, workload identity, Azure CLI, ...).
 */
export interface AzureStoreOptions extends CloudCommonOptions {
  /**
   * A storage connection string (env `AZURE_STORAGE_CONNECTION_STRING`): `AccountName=…;AccountKey=…`
   * or `BlobEndpoint=…;SharedAccessSignature=…`, or `UseDevelopmentStorage=true`. It carries its own
   * endpoint (`BlobEndpoint`), and serves the one account it names.
   */
  connectionString?: string;
  /** A SAS token (`sv=…&sig=…`, leading `?` allowed) for the URI's account (env `AZURE_STORAGE_SAS_TOKEN`). */
  sasToken?: string;
  /**
   * The shared key of the URI's account (env `AZURE_STORAGE_KEY`, which belongs to the account in
   * `AZURE_STORAGE_ACCOUNT` when that is set).
   */
  accountKey?: string;
  /**
   * A token credential (`@azure/identity`'s `DefaultAzureCredential`, `ClientSecretCredential`,
   * ..., or any object with `getToken`): requests carry its bearer tokens, asked for the scope
   * `https://storage.azure.com/.default` and renewed before they expire. HTTPS endpoints only.
   */
  credential?: AzureTokenCredential;
  /**
   * Blob service URL instead of `https://<account>.blob.core.windows.net` (env
   * `AZURE_STORAGE_ENDPOINT`), e.g. `http://127.0.0.1:10000/devstoreaccount1` for Azurite. An
   * endpoint on a loopback or IP host without a path gets `/<account>` appended (path-style).
   * Given here, it also wins over the endpoint of a connection string (whose credential is then
   * used at this endpoint); the variable does not.
   */
  endpoint?: string;
  /**
   * PEM file of CA certificates to trust instead of Node's set, for every request of the store
   * (both transports, through proxies too). TLS verification stays on.
   */
  caBundle?: string;
  /** Blobs per List Blobs page (default 5000, the Azure maximum). */
  pageSize?: number;
  /**
   * How blob bodies travel (env `S3DLIO_AZURE_TRANSPORT`): `lean` (default), the library's own
   * HTTP/1.1 path, which reads a download straight into its final buffer and sends Put Blob and
   * Put Block bodies from the caller's memory; or `sdk`, the SDK's HTTP stack for every request.
   * The credential (shared key, SAS or token) and every other request (list, properties, block
   * list commit, copy, containers) are the SDK's either way.
   */
  transport?: Transport;
}

/** What the library needs of an Azure token credential (`@azure/core-auth`'s `TokenCredential`). */
export interface AzureTokenCredential {
  /** A bearer token for `scopes` (`null`: none available), with when it expires (ms since the epoch). */
  getToken(
    scopes: string | string[],
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

/** Keys of {@link AzureStoreOptions}. */
export const AZURE_STORE_KEYS = optionKeys<AzureStoreOptions>()({
  ...CLOUD_COMMON_KEYS,
  connectionString: true,
  sasToken: true,
  accountKey: true,
  credential: true,
  endpoint: true,
  pageSize: true,
  caBundle: true,
  transport: true,
});
