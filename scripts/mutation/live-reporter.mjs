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
  onDryRunCompleted() {
    mkdirSync(path.dirname(FILE), { recursive: true });
    writeFileSync(FILE, '');
  }

  onMutantTested(result) {
    const { fileName, location, mutatorName, replacement, status, statusReason } = result;
    const line = {
      file: path.relative(process.cwd(), fileName),
      line: location.start.line,
      mutatorName,
      replacement,
      status,
    };
    if (status === 'Survived' || status === 'NoCoverage') line.statusReason = statusReason;
    appendFileSync(FILE, `${JSON.stringify(line)}\n`);
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, 'live', LiveReporter)];
