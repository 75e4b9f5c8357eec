/** A mistake on the command line: reported in one line, exit code 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}
