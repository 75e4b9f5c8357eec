/**
 * A StrykerJS reporter that appends each mutant's result to reports/mutation/live.jsonl as soon
 * as it is known, so a long run that is stopped early still leaves its survivors to read
 * (`grep '"Survived"' reports/mutation/live.jsonl`). The file is started afresh by each run.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { PluginKind, declareClassPlugin } from '@stryker-mutator/api/plugin';

const FILE = path.resolve('reports/mutation/live.jsonl');

class LiveReporter {
  /** When the mutants started: each line has its seconds since then, to see where a run's time goes. */
  #started = Date.now();

  onDryRunCompleted() {
    mkdirSync(path.dirname(FILE), { recursive: true });
    writeFileSync(FILE, '');
    this.#started = Date.now();
  }

  onMutantTested(result) {
    const { fileName, location, mutatorName, replacement, status, statusReason } = result;
    const line = {
      file: path.relative(process.cwd(), fileName),
      line: location.start.line,
      mutatorName,
      replacement,
      status,
      s: Math.round((Date.now() - this.#started) / 100) / 10,
    };
    if (status === 'Survived' || status === 'NoCoverage') line.statusReason = statusReason;
    appendFileSync(FILE, `${JSON.stringify(line)}\n`);
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, 'live', LiveReporter)];
