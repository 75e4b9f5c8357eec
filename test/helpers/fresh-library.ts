/**
 * A fresh copy of the library, for tests of what it reads from the environment when it makes its
 * default stores (a copy already loaded keeps the stores it made).
 *
 * Loading the copy runs every module's top-level code again inside the test. Under StrykerJS's
 * per-test coverage that would count this test as covering every module-level mutant (tables,
 * defaults), and Stryker would then test those mutants with this test alone, reporting them as
 * survivors; so the load is kept out of the test's coverage, like the first load of the file.
 */
import type * as s3dlio from '../../lib';

interface StrykerContext {
  currentTestId?: string;
}

export function freshLibrary(): typeof s3dlio {
  const stryker = (globalThis as { __stryker__?: StrykerContext }).__stryker__;
  const testId = stryker?.currentTestId;
  if (stryker) stryker.currentTestId = undefined;
  try {
    let fresh: typeof s3dlio | undefined;
    jest.isolateModules(() => {
      fresh = require('../../lib') as typeof s3dlio;
    });
    return fresh as typeof s3dlio;
  } finally {
    if (stryker) stryker.currentTestId = testId;
  }
}
