/**
 * Choosing the store for a URI: `storeFor`, and the shared default store of each scheme. The
 * built-in backends register their schemes when their modules load, here.
 */
import './backends/cloud/s3';
import './backends/cloud/azure/store';
import './backends/cloud/gcs';
import './backends/local/file';
import './backends/local/direct';
import './backends/memory';
import type { ObjectStore } from './object-store';
import { createStore } from './registry';
import { type Scheme, type StoreSchemes, parseUri } from './uri';

type Intersection<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void ? I : never;

/**
 * Backend options for `storeFor` when the scheme is not known from the URI's type: those of every
 * scheme, of which a store takes its own only (a key another backend takes, such as `region` for a
 * file:// store, is refused).
 */
export type StoreOptions = Intersection<StoreSchemes[Scheme]>;

/**
 * The options `storeFor(uri, options)` takes: those of the URI's scheme where the URI's type names
 * it (`storeFor('file:///data', { region })` does not compile), else those of every scheme.
 */
export type StoreOptionsFor<U extends string> = U extends `${infer S}://${string}`
  ? S extends Scheme
    ? StoreSchemes[S]
    : StoreOptions
  : StoreOptions;

const defaultStores = new Map<Scheme, ObjectStore>();

/**
 * Replaces the shared default store of `uri`'s scheme (the one the module-level API and the
 * transfers use) by a store built with `options`, and returns it. A process-wide setting: meant for
 * applications and the CLI, which configure an endpoint once; libraries should use `storeFor`.
 */
export function configureDefaultStore<U extends string>(uri: U, options: StoreOptionsFor<U>): ObjectStore {
  const { scheme } = parseUri(uri);
  const store = createStore(scheme, options as StoreOptions);
  defaultStores.set(scheme, store);
  return store;
}

/**
 * An ObjectStore for the scheme of `uri`. Without options, the shared default store of that
 * scheme; with options, a new store holding them.
 */
export function storeFor<U extends string>(uri: U, options?: StoreOptionsFor<U>): ObjectStore {
  const { scheme } = parseUri(uri);
  if (options !== undefined) return createStore(scheme, options as StoreOptions);
  let store = defaultStores.get(scheme);
  if (!store) {
    store = createStore(scheme, {});
    defaultStores.set(scheme, store);
  }
  return store;
}
