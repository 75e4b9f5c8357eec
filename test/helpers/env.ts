/**
 * Running a piece of a test with a controlled set of configuration variables. Each jest test file
 * has its own copy of `process.env` (and runs its tests one at a time), so setting variables
 * here never reaches another file; they are restored whatever happens.
 */

/** Variables that configure a cloud store: all are cleared unless the test sets them. */
const CONFIG_VARIABLE = /^(?:AWS_|AZURE_|GOOGLE_|GCLOUD_|STORAGE_EMULATOR_HOST$|S3DLIO_(?!TEST_))/;

/**
 * Runs `fn` with every cloud configuration variable unset except `vars` (a value of `undefined`
 * leaves that one unset too), then restores the environment as it was.
 */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const name of Object.keys(process.env)) if (CONFIG_VARIABLE.test(name)) delete process.env[name];
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return await fn();
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}
