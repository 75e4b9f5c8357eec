/**
 * A StrykerJS checker: the TypeScript type check of each mutant's own file, in a program kept from
 * one mutant to the next (only the mutated file is parsed again). A mutant that does not compile
 * is a CompileError and never reaches the tests.
 *
 * Why not @stryker-mutator/typescript-checker: it re-checks through a solution builder, about two
 * seconds a mutant on this two-core machine, which made type checking the bottleneck of a run (it
 * holds two of three workers until every mutant is checked); this takes 0.1–0.7 s. What it does
 * not see: a mutant that changes an exported type so that another file stops compiling. Such a
 * mutant goes to the tests instead, which judge it like any other. `S3DLIO_MUTATION_CHECKER=stryker`
 * selects the official checker (stryker.config.mjs).
 */
import path from 'node:path';

import { CheckStatus } from '@stryker-mutator/api/check';
import { PluginKind, commonTokens, declareClassPlugin } from '@stryker-mutator/api/plugin';
import ts from 'typescript';

function describeErrors(diagnostics) {
  return diagnostics
    .slice(0, 3)
    .map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const at = where
        ? `${path.relative(process.cwd(), d.file.fileName)}(${where.line + 1},${where.character + 1}): `
        : '';
      return `${at}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    })
    .join('\n');
}

class FileTypeChecker {
  static inject = [commonTokens.options];

  constructor(options) {
    this.tsconfig = path.resolve(options.tsconfigFile ?? 'tsconfig.json');
    /** Mutated text by absolute file name, while one mutant is checked. */
    this.mutated = new Map();
  }

  async init() {
    const parsed = ts.getParsedCommandLineOfConfigFile(
      this.tsconfig,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(`${this.tsconfig}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
        },
      },
    );
    // As the official checker: code-quality rules do not make a mutant invalid (a removed block
    // leaves a local unused; that mutant still runs).
    this.options = {
      ...parsed.options,
      noEmit: true,
      incremental: false,
      composite: false,
      declaration: false,
      allowUnreachableCode: true,
      noUnusedLocals: false,
      noUnusedParameters: false,
    };
    this.rootNames = parsed.fileNames;
    const host = ts.createCompilerHost(this.options);
    const read = host.getSourceFile.bind(host);
    /** The SourceFile of each file as read at init, by file name. */
    const unchanged = (this.unchanged = new Map());
    // Unchanged files are the same SourceFile objects in every program, so TypeScript reuses them.
    host.getSourceFile = (fileName, language, onError) => {
      const text = this.mutated.get(path.resolve(fileName));
      if (text !== undefined) return ts.createSourceFile(fileName, text, language, true);
      if (!unchanged.has(fileName)) unchanged.set(fileName, read(fileName, language, onError));
      return unchanged.get(fileName);
    };
    this.host = host;
    this.program = ts.createProgram(this.rootNames, this.options, host);
    const errors = ts.getPreEmitDiagnostics(this.program);
    if (errors.length > 0) throw new Error(`TypeScript errors before any mutant:\n${describeErrors(errors)}`);
  }

  async check(mutants) {
    const results = {};
    for (const mutant of mutants) results[mutant.id] = this.checkOne(mutant);
    return results;
  }

  checkOne(mutant) {
    const fileName = path.resolve(mutant.fileName);
    // The text Stryker instrumented is the one read at init: files edited during a run must not
    // shift the mutant's location.
    const original = this.unchanged.get(fileName);
    if (!original) return { status: CheckStatus.Passed }; // not in the project
    const text = original.text;
    const { start, end } = mutant.location; // 0-based lines and columns
    const from = original.getPositionOfLineAndCharacter(start.line, start.column);
    const to = original.getPositionOfLineAndCharacter(end.line, end.column);
    this.mutated.set(fileName, `${text.slice(0, from)}${mutant.replacement}${text.slice(to)}`);
    try {
      this.program = ts.createProgram(this.rootNames, this.options, this.host, this.program);
      const file = this.program.getSourceFile(fileName);
      const errors = [...this.program.getSyntacticDiagnostics(file), ...this.program.getSemanticDiagnostics(file)];
      return errors.length > 0
        ? { status: CheckStatus.CompileError, reason: describeErrors(errors) }
        : { status: CheckStatus.Passed };
    } finally {
      this.mutated.delete(fileName);
    }
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Checker, 'typescript-file', FileTypeChecker)];
