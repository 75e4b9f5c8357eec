/**
 * The scheme registry: which store class serves each URI scheme. Every backend registers itself in
 * its own module with one `registerStore` line; the URI parser, `ACCEPTED_SCHEMES` and the error
 * that lists them follow the registrations.
 */
import type { ObjectStore } from './object-store';
import { type Scheme, type StoreSchemes, type UriLayout, registerSchemeSyntax } from './uri';
import { expectKnownOptions, optionKeys } from './internal/option-keys';
import { invalidType, optionalEnum } from './validate';

/** The options a scheme's factory takes: its entry of `StoreSchemes`, when it has one. */
export type OptionsOf<S extends string> = S extends Scheme ? StoreSchemes[S] : Record<string, unknown>;

/** How `registerStore` reads a scheme's URIs. */
export interface RegisterStoreOptions {
  /** Other spellings of the scheme (`gcs` for `gs`). */
  aliases?: readonly string[];
  /** `bucket` (default): `scheme://bucket/key`; `account`: `scheme://account/container/key`; `path`: `scheme:///abs/path`. */
  layout?: UriLayout;
}

const REGISTER_KEYS = optionKeys<RegisterStoreOptions>()({ aliases: true, layout: true });

const factories = new Map<string, (options: never) => ObjectStore>();

/**
 * Registers the store class of a URI scheme: `factory(options)` builds a store for `storeFor(uri,
 * options)` (options `{}` for the shared default store). A scheme or alias that is malformed or
 * already registered is refused.
 *
 * @example
 * registerStore('mem', (options) => new MemoryStore(options));
 */
export function registerStore<S extends string>(
  scheme: S,
  factory: (options: OptionsOf<S>) => ObjectStore,
  options?: RegisterStoreOptions,
): void {
  const opts = expectKnownOptions(options, REGISTER_KEYS, 'registerStore');
  if (typeof factory !== 'function') throw invalidType('factory', 'a function', factory);
  const layout = optionalEnum(opts.layout, 'options.layout', ['bucket', 'account', 'path'] as const, 'bucket');
  if (opts.aliases !== undefined && !Array.isArray(opts.aliases)) {
    throw invalidType('options.aliases', 'an array of scheme names', opts.aliases);
  }
  registerSchemeSyntax(scheme, layout, opts.aliases);
  factories.set(scheme, factory as (options: never) => ObjectStore);
}

/** A new store of a registered scheme. */
export function createStore<S extends Scheme>(scheme: S, options: StoreSchemes[S]): ObjectStore {
  const factory = factories.get(scheme) as (options: StoreSchemes[S]) => ObjectStore;
  return factory(options);
}
