/**
 * The cloud SDKs, each loaded on first use (through internal/optional-package): a program that
 * never touches a cloud never pays for its SDK, and a package installed without them (they are
 * optional peer dependencies) still serves file:// and direct://. A missing SDK is one line naming
 * the command that installs it.
 */
import type { ObjectHead } from './driver';
import { lazyRequire } from '../../internal/optional-package';

/**
 * The packages each cloud scheme loads, all of them optional peer dependencies of this package (a
 * test holds package.json to this table): the install command of a missing one names them all.
 */
export const SDK_PACKAGES = {
  s3: ['@aws-sdk/client-s3', '@smithy/node-http-handler', '@smithy/signature-v4'],
  az: ['@azure/storage-blob', '@azure/identity'],
  gs: ['@google-cloud/storage'],
} as const;

/** A scheme served through a cloud SDK. */
export type SdkScheme = keyof typeof SDK_PACKAGES;

/** A package of {@link SDK_PACKAGES}. */
export type SdkPackage = (typeof SDK_PACKAGES)[SdkScheme][number];

/** The command that installs every package `scheme` needs. */
export function installCommand(scheme: SdkScheme): string {
  return `npm install ${SDK_PACKAGES[scheme].join(' ')}`;
}

/**
 * A loader of the package `name` of `scheme`, which requires it at the first call and keeps it. A
 * package that is not installed is an S3dlioError `ERR_MODULE_NOT_FOUND` with the command that
 * installs the scheme's packages (the require error as its cause); any other failure to load it
 * (a broken install) is the loader's own error.
 */
export function lazyPackage<T>(scheme: SdkScheme, name: SdkPackage): () => T {
  return lazyRequire<T>(name, { neededBy: `${scheme}://`, install: installCommand(scheme) });
}

/** An object's metadata from what a HEAD answered (size 0 and the epoch where it said nothing). */
export function objectHead(
  size: number | undefined,
  lastModified: Date | undefined,
  etag: string | undefined,
  contentType: string | undefined,
): ObjectHead {
  return {
    size: size ?? 0,
    lastModified: lastModified ?? new Date(0),
    ...(etag !== undefined && { etag }),
    ...(contentType !== undefined && { contentType }),
  };
}
