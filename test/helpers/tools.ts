/**
 * Tools from outside npm that some tests use as independent checks (h5dump, the zstd CLI, NumPy,
 * moto, the AWS CLI, Chromium). A test that needs one runs only where it is installed: elsewhere it is
 * skipped, and the run ends with a loud list of what was skipped and the command that installs it
 * (test/summary-reporter.js). With `S3DLIO_REQUIRE_TOOLS=1` (set by .ci/run, which installs them)
 * a missing tool fails the test instead, so CI never skips silently.
 */
import { execFileSync } from 'child_process';
import { appendFileSync } from 'fs';

/** What a tool is, how to tell it is there, and how to install it. */
interface ToolSpec {
  /** Checks availability (runs once per test process). */
  probe(): boolean;
  /** The command that installs it on these machines. */
  install: string;
}

function runs(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false; // not installed, or broken: either way the checks cannot run
  }
}

const TOOLS = {
  h5dump: { probe: () => runs('h5dump', ['--version']), install: 'apt-get install -y hdf5-tools' },
  h5import: {
    probe: () => runs('h5import', ['-h']) || runs('which', ['h5import']),
    install: 'apt-get install -y hdf5-tools',
  },
  zstd: { probe: () => runs('zstd', ['--version']), install: 'apt-get install -y zstd' },
  python3: { probe: () => runs('python3', ['--version']), install: 'apt-get install -y python3' },
  numpy: { probe: () => runs('python3', ['-c', 'import numpy']), install: 'pip install numpy' },
  aws: { probe: () => runs('aws', ['--version']), install: 'pip install awscli' },
  rclone: { probe: () => runs('rclone', ['version']), install: 'apt-get install -y rclone' },
  // The headless browser that renders the benchmark report (driven by playwright-core).
  chromium: { probe: () => runs('/usr/bin/chromium', ['--version']), install: 'apt-get install -y chromium' },
  // The global setup starts moto when it can and says where; see test/global-setup.ts.
  moto: {
    probe: () => process.env.S3DLIO_TEST_S3_ENDPOINT !== undefined,
    install: 'pip install "moto[server]"',
  },
} satisfies Record<string, ToolSpec>;

/** The outside tools tests may need. */
export type ToolName = keyof typeof TOOLS;

const known = new Map<ToolName, boolean>();

/** Whether `tool` can be used here (probed once per test process). */
export function hasTool(tool: ToolName): boolean {
  let available = known.get(tool);
  if (available === undefined) {
    available = TOOLS[tool].probe();
    known.set(tool, available);
  }
  return available;
}

/** The install command of a tool, for messages. */
export function installCommand(tool: ToolName): string {
  return TOOLS[tool].install;
}

/** True when missing tools must fail the run (CI) rather than skip tests. */
function toolsRequired(): boolean {
  return process.env.S3DLIO_REQUIRE_TOOLS === '1';
}

/**
 * The tools of `tools` that are missing. Records each skip for the end-of-run report; where tools
 * are required, returns none, so the test runs and fails on the missing tool with its own error.
 */
function missingFor(tools: readonly ToolName[], title: string): ToolName[] {
  const missing = tools.filter((tool) => !hasTool(tool));
  if (missing.length === 0 || toolsRequired()) return [];
  const log = process.env.S3DLIO_TEST_SKIP_LOG;
  const file = expect.getState().testPath ?? '';
  for (const tool of missing) {
    const line = `${tool}\t${installCommand(tool)}\t${file}\t${title}\n`;
    if (log) appendFileSync(log, line);
    else
      process.stderr.write(`SKIPPED (${tool} is not installed; install it with: ${installCommand(tool)}): ${title}\n`);
  }
  return missing;
}

/** `test(title, fn)` that needs `tools`; skipped loudly where one is missing. */
export function testWith(tools: readonly ToolName[], title: string, fn: jest.ProvidesCallback, timeout?: number): void {
  const missing = missingFor(tools, title);
  if (missing.length > 0) test.skip(`${title} [needs ${missing.join(', ')}]`, fn, timeout);
  else test(title, fn, timeout);
}

/** `describe(title, fn)` whose tests need `tools`; skipped loudly where one is missing. */
export function describeWith(tools: readonly ToolName[], title: string, fn: () => void): void {
  const missing = missingFor(tools, title);
  if (missing.length > 0) describe.skip(`${title} [needs ${missing.join(', ')}]`, fn);
  else describe(title, fn);
}

/** Fails with the install command when a required tool is missing (for helpers that run one). */
export function assertTool(tool: ToolName): void {
  if (!hasTool(tool)) {
    throw new Error(`${tool} is not installed: install it with \`${installCommand(tool)}\` (see README "Testing")`);
  }
}

/** Whether every tool of `tools` is here; records the skip of `title` when one is missing. */
export function toolsAvailable(tools: readonly ToolName[], title: string): boolean {
  return missingFor(tools, title).length === 0;
}

/**
 * `describe` and `test` for a group of tests that all need `tools` (e.g. a whole S3 suite):
 * the real ones where the tools are here, `.skip` variants elsewhere (recorded once, as `title`).
 */
export function withTools(tools: readonly ToolName[], title: string): { describe: jest.Describe; test: jest.It } {
  return toolsAvailable(tools, title) ? { describe, test } : { describe: describe.skip, test: test.skip };
}
