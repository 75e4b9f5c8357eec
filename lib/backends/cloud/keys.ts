/**
 * Object keys a cloud cannot store exactly as written. Such a key is refused before any request
 * (ERR_INVALID_URI naming the reason) instead of being stored, read or listed under another name.
 * Documented in README.md ("Object keys").
 */
import { S3dlioError } from '../../errors';

/** Why a key (or a listing prefix) cannot be used on a service, or undefined when it can. */
export type KeyRule = (key: string) => string | undefined;

/** `U+000D` style name of a character, for messages. */
function describeCharacter(character: string): string {
  const code = character.codePointAt(0) ?? 0;
  const name = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  // Stryker disable next-line all: only how a character is written in a message (quoted or as U+XXXX)
  return code > 0x20 && code !== 0x7f && !(code >= 0x80 && code <= 0x9f) ? `'${character}' (${name})` : name;
}

/** Keys longer than `limit` bytes of UTF-8. */
export function maxUtf8Bytes(limit: number, service: string): KeyRule {
  return (key) => {
    const bytes = Buffer.byteLength(key, 'utf8');
    return bytes > limit ? `the key is ${bytes} bytes of UTF-8; ${service} keys are at most ${limit}` : undefined;
  };
}

/** Keys longer than `limit` UTF-16 code units (Azure counts characters, not bytes). */
export function maxCharacters(limit: number, service: string): KeyRule {
  return (key) =>
    key.length > limit ? `the key is ${key.length} characters; ${service} keys are at most ${limit}` : undefined;
}

/** Keys containing a character of `pattern` (a character class, without flags but `u`). */
export function forbiddenCharacter(pattern: RegExp, service: string, why: string): KeyRule {
  return (key) => {
    const found = pattern.exec(key)?.[0];
    return found === undefined ? undefined : `the key contains ${describeCharacter(found)}, which ${service} ${why}`;
  };
}

/** Any rule that matches `test`, with a fixed reason. */
export function keyRule(test: (key: string) => boolean, reason: string): KeyRule {
  return (key) => (test(key) ? reason : undefined);
}

/** Throws ERR_INVALID_URI with the first reason a rule gives for `key`. */
export function checkKey(uri: string, key: string, rules: readonly KeyRule[]): void {
  for (const rule of rules) {
    const reason = rule(key);
    if (reason !== undefined) {
      throw new S3dlioError('ERR_INVALID_URI', `Invalid URI ${JSON.stringify(uri)}: ${reason}`, { uri });
    }
  }
}

/**
 * Characters XML 1.0 cannot carry at all, not even as character references (C0 controls other
 * than tab, line feed and carriage return; U+FFFE, U+FFFF). Lone surrogates never reach here
 * (parseUri refuses them).
 */
// eslint-disable-next-line no-control-regex -- control characters are what is matched
export const NOT_IN_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * Percent-encodes every byte of `text` but the unreserved `A-Z a-z 0-9 - _ . ~` (what SigV4 and
 * GCS expect in a path): no name, whatever it holds, can change the request it is part of.
 */
export function encodeStrictly(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Percent-encodes a key for a request path: every byte but `A-Z a-z 0-9 - _ . ~` and `/` (as
 * SigV4 canonicalizes it), so no key, with CR, LF, spaces or `%`, can alter the request.
 */
export function encodeKeyPath(key: string): string {
  return encodeStrictly(key).replace(/%2F/g, '/');
}
