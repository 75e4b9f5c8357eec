/** The az:// backend: Azure Blob Storage (and Azurite), registered for `az://`. */
import { expectKnownOptions } from '../../../internal/option-keys';
import { registerStore } from '../../../registry';
import { CloudStore } from '../cloud-store';
import { retryPolicyFrom } from '../config';
import { AzureDriver } from './driver';
import { AZURE_STORE_KEYS, type AzureStoreOptions } from './options';

export type { AzureStoreOptions } from './options';

/** The az:// backend. */
export class AzureStore extends CloudStore {
  private readonly azure: AzureDriver;

  constructor(options?: AzureStoreOptions) {
    const opts = expectKnownOptions(options, AZURE_STORE_KEYS, 'an az:// store');
    const driver = new AzureDriver(opts);
    super(driver, retryPolicyFrom(opts), opts);
    this.azure = driver;
  }

  /** Containers belong to an account: `listBuckets('az://account')` gives `az://account/container/`. */
  protected override bucketListBase(schemeUri: string): string {
    return this.azure.accountBase(schemeUri);
  }
}

declare module '../../../uri' {
  interface StoreSchemes {
    az: AzureStoreOptions;
  }
  interface StoreClasses {
    az: AzureStore;
  }
}
registerStore('az', (options) => new AzureStore(options), { layout: 'account' });
