/**
 * What the README and docs/ tests share: the js/ts code blocks of a Markdown file with the marker
 * line above each, and a type check of example code against the library's own types.
 */
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

import { REPO_ROOT } from './child';

/** One fenced js/ts block of a Markdown file. */
export interface CodeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  language: string;
  /** What `<!-- example: … -->` on the line above says ('' when there is none). */
  marker: string;
  code: string;
}

/** The js/ts blocks of `markdown`, with the marker line above each. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(js|javascript|mjs|ts|typescript)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.indexOf('```', i + 1);
    let above = i - 1;
    while (above >= 0 && lines[above].trim() === '') above--;
    const marker = /^<!-- example: (.+) -->$/.exec(lines[above] ?? '')?.[1] ?? '';
    blocks.push({ line: i + 1, language: fence[1], marker, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

/**
 * Type-checks each piece of example code (named by `label`) as a module of its own against lib/'s
 * types, `s3dlio` resolving to lib/index.ts; → one line per problem, `label, its line N: message`.
 */
export function typeProblems(dir: string, examples: ReadonlyArray<{ label: string; code: string }>): string[] {
  mkdirSync(dir, { recursive: true });
  const labels = new Map<string, string>();
  const files = examples.map((example, index) => {
    const file = path.join(dir, `example-${index}.ts`);
    // `export {}`: each block is a module of its own (top-level await, its own names).
    writeFileSync(file, `${example.code}\nexport {};\n`);
    labels.set(file, example.label);
    return file;
  });
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    // The JavaScript examples leave callback parameters untyped; everything else is checked.
    strict: true,
    noImplicitAny: false,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')],
    baseUrl: REPO_ROOT,
    paths: {
      s3dlio: [path.join(REPO_ROOT, 'lib', 'index.ts')],
      '@tensorflow/tfjs': [path.join(REPO_ROOT, 'node_modules', '@tensorflow', 'tfjs')],
    },
    noEmit: true,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file && labels.has(diagnostic.file.fileName))
    .map((diagnostic) => {
      const source = diagnostic.file as ts.SourceFile;
      const { line } = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
      return `${labels.get(source.fileName)}, its line ${line + 1}: ${message}`;
    });
}

/** tf.js prints its advice to install tfjs-node (a native download: not an option here). */
export function withoutTfjsAdvice(stderr: string): string {
  return stderr.replace(/\n?=+\nHi, looks like you are running TensorFlow\.js in Node\.js\.[^\n]*\n=+\n/, '');
}
