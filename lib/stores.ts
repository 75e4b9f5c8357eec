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
import { type Scheme, type SchemeAliases, type StoreClasses, type StoreSchemes, parseUri } from './uri';

/**
 * Backend options for `storeFor` when the URI's type does not name its scheme (a plain `string`):
 * those of one of the schemes. The store then checks them against its own scheme's at run time (a
 * key another backend takes, such as `region` for a file:// store, is refused).
 */
export type StoreOptions = StoreSchemes[Scheme];

/**
 * The scheme a URI's type names: `'s3'` for `'s3://bucket/key'` or `` `s3://${string}` ``, the
 * scheme of an alias (`gcs://` → `'gs'`), `'az'` for an Azure `https://….blob.core.windows.net`
 * URL; `never` for a plain `string` or a scheme nobody registered. Scheme names are
 * case-insensitive, as at run time.
 */
export type SchemeOf<U extends string> =
  Lowercase<U> extends `https://${string}.blob.core.windows.net${'' | `/${string}`}`
    ? Extract<'az', Scheme>
    : Lowercase<U> extends `${infer S}://${string}`
      ? S extends Scheme
        ? S
        : S extends keyof SchemeAliases
          ? Extract<SchemeAliases[S], Scheme>
          : never
      : never;

type OptionsOfScheme<S> = [S] extends [never] ? StoreOptions : S extends Scheme ? StoreSchemes[S] : never;

type StoreOfScheme<S> = [S] extends [never]
  ? ObjectStore
  : S extends keyof StoreClasses
    ? StoreClasses[S]
    : ObjectStore;

/**
 * The options `storeFor(uri, options)` takes: those of the URI's scheme where the URI's type names
 * it (`storeFor('file:///data', { region })` does not compile), else those of any scheme.
 */
export type StoreOptionsFor<U extends string> = U extends unknown ? OptionsOfScheme<SchemeOf<U>> : never;

/**
 * What `storeFor(uri)` returns: the store class of the URI's scheme where the URI's type names it
 * (`S3Store` for `'s3://bucket/'`), else an `ObjectStore`.
 */
export type StoreFor<U extends string> = U extends unknown ? StoreOfScheme<SchemeOf<U>> : never;

const defaultStores = new Map<Scheme, ObjectStore>();

/**
 * Replaces the shared default store of `uri`'s scheme (the one the module-level API and the
 * transfers use) by a store built with `options`, and returns it. A process-wide setting: meant for
 * applications and the CLI, which configure an endpoint once; libraries should use `storeFor`.
 */
export function configureDefaultStore<U extends string>(uri: U, options: StoreOptionsFor<U>): StoreFor<U> {
  const { scheme } = parseUri(uri);
  const store = createStore(scheme, options as StoreSchemes[Scheme]);
  defaultStores.set(scheme, store);
  return store as StoreFor<U>;
}

/**
 * The store for the scheme of `uri`. Without options, the shared default store of that scheme;
 * with options, a new store holding them.
 *
 * One generic signature rather than an overload per scheme: a URI whose type names its scheme
 * (`'s3://bucket/'`, `` `gs://${string}` ``) takes that scheme's options only and returns its store
 * class (`S3Store`); a plain `string` takes the options of any scheme and returns an
 * `ObjectStore`. (With overloads, `storeFor('file:///', { endpoint })` would fail the file://
 * signature and then compile against the plain-`string` one.) Schemes added with `registerStore`
 * and typed in `StoreSchemes`/`StoreClasses` get the same.
 *
 * @example
 * const s3 = storeFor('s3://bucket/', { region: 'eu-west-1' }); // S3Store
 * storeFor('file:///data/', { region: 'eu-west-1' }); // does not compile: not a file:// option
 */
export function storeFor<U extends string>(uri: U, options?: StoreOptionsFor<U>): StoreFor<U> {
  const { scheme } = parseUri(uri);
  if (options !== undefined) return createStore(scheme, options as StoreSchemes[Scheme]) as StoreFor<U>;
  let store = defaultStores.get(scheme);
  if (!store) {
    store = createStore(scheme, {});
    defaultStores.set(scheme, store);
  }
  return store as StoreFor<U>;
}
