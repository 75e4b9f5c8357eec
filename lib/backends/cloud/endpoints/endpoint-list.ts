/**
 * The endpoints of a multi-endpoint store, as users write them: a list of URLs, a range template
 * (`http://10.0.0.{1...8}:9000`), a file with one URL per line, or `S3_ENDPOINT_URIS`
 * (comma-separated, as s3dlio names it). Every form expands to a checked list of distinct
 * `http(s)://host[:port]` roots; a bad entry is a one-line ERR_INVALID_ARG_VALUE naming it.
 */
import { readFileSync } from 'fs';

import { badArgument, invalidType } from '../../../validate';

/** Most endpoints one store takes (a template can expand to many). */
export const MAX_ENDPOINTS = 1024;

/** What `options.endpoints` accepts. */
export type EndpointsOption = readonly string[] | string;

/**
 * The endpoint URLs of `value`, named `name` in messages: an array of URLs or templates; a string
 * that starts with `http://` or `https://` (one URL or template, or several separated by commas);
 * any other string is the path of a file listing them, one a line (`#` starts a comment).
 */
export function endpointList(value: unknown, name: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) throw badArgument(`\`${name}\` is empty: give at least one endpoint URL`);
    return checked(
      value.flatMap((entry, index) => {
        if (typeof entry !== 'string') throw invalidType(`${name}[${index}]`, 'an endpoint URL string', entry);
        return expandTemplate(entry.trim(), `\`${name}[${index}]\``);
      }),
      `\`${name}\``,
    );
  }
  if (typeof value !== 'string')
    throw invalidType(name, 'an array of endpoint URLs, a URL template or a file path', value);
  if (/^https?:\/\//i.test(value.trim())) return fromCommaList(value, name);
  return fromFile(value, name);
}

/** `S3_ENDPOINT_URIS` (or any comma-separated list): each entry a URL or a template. */
export function fromCommaList(value: string, name: string): string[] {
  const label = `\`${name}\``;
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw badArgument(`${label} names no endpoint`);
  return checked(
    entries.flatMap((entry) => expandTemplate(entry, label)),
    label,
  );
}

function fromFile(path: string, name: string): string[] {
  const label = `\`${name}\``;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    throw badArgument(
      `${label} is neither an http(s):// URL nor a readable file: ${JSON.stringify(path)} (${code})`,
      error,
    );
  }
  const entries: Array<{ line: number; url: string }> = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line !== '') entries.push({ line: index + 1, url: line });
  });
  if (entries.length === 0) throw badArgument(`${label}: the file ${JSON.stringify(path)} lists no endpoint`);
  return checked(
    entries.flatMap(({ line, url }) => expandTemplate(url, `${label} (${path}, line ${line})`)),
    label,
  );
}

const RANGE = /\{([^{}]*)\}/g;

/**
 * Expands every `{a...b}` of `template` (integers, a ≤ b; `{01...16}` keeps the width of a
 * zero-padded start), as the cartesian product in order. Anything else in braces is an error,
 * whose message starts with `label` (where the template came from).
 */
export function expandTemplate(template: string, label: string): string[] {
  const parts: Array<string | string[]> = [];
  let last = 0;
  let count = 1;
  for (const match of template.matchAll(RANGE)) {
    parts.push(template.slice(last, match.index));
    const values = rangeValues(match[1], template, label);
    count *= values.length;
    if (count > MAX_ENDPOINTS) {
      throw badArgument(
        `${label}: ${JSON.stringify(redact(template))} expands to more than ${MAX_ENDPOINTS} endpoints`,
      );
    }
    parts.push(values);
    last = (match.index ?? 0) + match[0].length;
  }
  const tail = template.slice(last);
  if (/[{}]/.test(tail) || parts.some((part) => typeof part === 'string' && /[{}]/.test(part))) {
    throw badArgument(`${label}: unbalanced brace in ${JSON.stringify(redact(template))} (a range is {1...8})`);
  }
  parts.push(tail);
  let results = [''];
  for (const part of parts) {
    results =
      typeof part === 'string'
        ? results.map((prefix) => prefix + part)
        : results.flatMap((prefix) => part.map((value) => prefix + value));
  }
  return results;
}

function rangeValues(body: string, template: string, label: string): string[] {
  const match = /^\s*(\d+)\s*\.\.\.\s*(\d+)\s*$/.exec(body);
  if (!match) {
    throw badArgument(
      `${label}: {${body}} in ${JSON.stringify(redact(template))} is not a range; write {first...last}, e.g. {1...8}`,
    );
  }
  const [, startText, endText] = match;
  const start = Number(startText);
  const end = Number(endText);
  if (end < start) {
    throw badArgument(`${label}: the range {${body}} in ${JSON.stringify(redact(template))} ends before it starts`);
  }
  if (end - start + 1 > MAX_ENDPOINTS) {
    throw badArgument(`${label}: ${JSON.stringify(redact(template))} expands to more than ${MAX_ENDPOINTS} endpoints`);
  }
  const width = startText.length > 1 && startText.startsWith('0') ? startText.length : 0;
  return Array.from({ length: end - start + 1 }, (_, i) => String(start + i).padStart(width, '0'));
}

/** Each URL is an http(s) root (no path, query or credentials), and none appears twice. */
function checked(urls: string[], label: string): string[] {
  if (urls.length > MAX_ENDPOINTS) throw badArgument(`${label} names more than ${MAX_ENDPOINTS} endpoints`);
  const seen = new Set<string>();
  return urls.map((raw) => {
    const url = endpointRoot(raw, label);
    if (seen.has(url)) throw badArgument(`${label} names ${JSON.stringify(url)} twice`);
    seen.add(url);
    return url;
  });
}

/** `raw` with anything between `//` and `@` masked: messages never repeat a credential. */
function redact(raw: string): string {
  return raw.replace(/\/\/[^/@]*@/, '//***@');
}

function endpointRoot(raw: string, label: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badArgument(`${label}: ${JSON.stringify(redact(raw))} is not a URL (expected http(s)://host[:port])`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badArgument(`${label}: ${JSON.stringify(redact(raw))} is not an http:// or https:// URL`);
  }
  if (url.username !== '' || url.password !== '') {
    // The URL is not repeated: it holds a secret.
    throw badArgument(`${label}: an endpoint URL must not carry credentials (give them as options.credentials)`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw badArgument(
      `${label}: ${JSON.stringify(redact(raw))} has a path or query; an endpoint is http(s)://host[:port]`,
    );
  }
  return `${url.protocol}//${url.host}`;
}
