/** Native helpers exposed to users, with the same validation and errors as the rest of the API. */
import { constants as bufferConstants } from 'buffer';

import * as native from './native';
import { OPERATION_KEYS, type OperationOptions } from './object-store';
import { runOperation } from './operation';
import { CallSite, S3dlioError, toS3dlioError } from './errors';
import { isLocalScheme, parseUri } from './uri';
import { expectPositiveInteger, invalidValue, outOfRange } from './validate';

export type { DirectIoInfo, NativeBuildInfo } from './native';

/**
 * Zero-filled memory aligned for O_DIRECT (default 4096 bytes). Data written from such a buffer
 * to direct:// skips the bounce copy that ordinary JS memory needs. `size` is at most
 * `buffer.constants.MAX_LENGTH` (RangeError ERR_OUT_OF_RANGE); memory the system cannot give is
 * an S3dlioError ERR_OUT_OF_MEMORY.
 */
export function allocAligned(size: number, alignment = 4096): Uint8Array {
  expectPositiveInteger(size, 'size');
  expectPositiveInteger(alignment, 'alignment');
  if (size > bufferConstants.MAX_LENGTH) {
    throw outOfRange('size', `an integer up to ${bufferConstants.MAX_LENGTH} (buffer.constants.MAX_LENGTH)`, size);
  }
  if ((alignment & (alignment - 1)) !== 0 || alignment > 1 << 20) {
    throw invalidValue('alignment', 'a power of two up to 1048576', alignment);
  }
  const callSite = new CallSite();
  try {
    return new Uint8Array(native.allocAligned(size, alignment));
  } catch (error) {
    throw callSite.attach(toS3dlioError(error, 'allocAligned', ''));
  }
}

/** Facts about the loaded native addon (source hash, O_DIRECT support, copy fallbacks). */
export function buildInfo(): native.NativeBuildInfo {
  return native.buildInfo();
}

/** Whether O_DIRECT works at a file:// or direct:// URI (file or directory), with its alignment. */
export function directIoInfo(uri: string, options?: OperationOptions): Promise<native.DirectIoInfo> {
  return runOperation('directIoInfo', uri, options, OPERATION_KEYS, async () => {
    const parsed = parseUri(uri);
    if (!isLocalScheme(parsed.scheme)) {
      throw new S3dlioError(
        'ERR_INVALID_URI',
        `directIoInfo takes a file:// or direct:// URI, not ${parsed.scheme}://`,
        { uri },
      );
    }
    return native.directIoInfo(parsed.path as string);
  });
}
