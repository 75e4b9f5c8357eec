/**
 * The key rules the cloud backends apply before any request, checked directly: limits at their
 * exact boundary (bytes of UTF-8 for S3 and GCS, UTF-16 units for Azure), forbidden characters
 * named in the refusal, and checkKey reporting the first rule that refuses. The backends' own
 * tables are exercised against the servers in test/safety/65.
 */
import { checkKey, forbiddenCharacter, keyRule, maxCharacters, maxUtf8Bytes } from '../../lib/backends/cloud/keys';
import { thrownBy } from '../helpers/local';

describe('limits at the boundary', () => {
  test('maxUtf8Bytes counts bytes: 1024 bytes pass, 1025 do not, whatever the characters', () => {
    const rule = maxUtf8Bytes(1024, 'GCS');
    expect(rule('a'.repeat(1024))).toBeUndefined();
    expect(rule('é'.repeat(512))).toBeUndefined();
    expect(rule('a'.repeat(1025))).toBe('the key is 1025 bytes of UTF-8; GCS keys are at most 1024');
    expect(rule('é'.repeat(513))).toBe('the key is 1026 bytes of UTF-8; GCS keys are at most 1024');
  });

  test('maxCharacters counts UTF-16 units: a character outside the BMP is two', () => {
    const rule = maxCharacters(4, 'Azure');
    expect(rule('abcd')).toBeUndefined();
    expect(rule('éééé')).toBeUndefined();
    expect(rule('abcde')).toBe('the key is 5 characters; Azure keys are at most 4');
    expect(rule('ab😀')).toBeUndefined();
    expect(rule('abc😀')).toBe('the key is 5 characters; Azure keys are at most 4');
  });
});

describe('forbidden characters', () => {
  const rule = forbiddenCharacter(/[\r\n\\]/, 'Svc', 'refuses');

  test('a key without them passes; the first one found is named', () => {
    expect(rule('plain/key with spaces')).toBeUndefined();
    expect(rule('a\nb\rc')).toBe('the key contains U+000A, which Svc refuses');
    expect(rule('dir\\file')).toBe("the key contains '\\' (U+005C), which Svc refuses");
  });

  test('keyRule gives its reason only when its test matches', () => {
    const trailingDot = keyRule((key) => key.endsWith('.'), 'a trailing dot');
    expect(trailingDot('a.b')).toBeUndefined();
    expect(trailingDot('a.')).toBe('a trailing dot');
  });
});

describe('checkKey', () => {
  const rules = [maxUtf8Bytes(8, 'Svc'), forbiddenCharacter(/\n/, 'Svc', 'refuses')];

  test('a key every rule accepts passes', () => {
    expect(() => checkKey('svc://b/ok', 'ok', rules)).not.toThrow();
    expect(() => checkKey('svc://b/ok', 'ok', [])).not.toThrow();
  });

  test('the first rule that refuses is the reason: ERR_INVALID_URI with the URI', () => {
    expect(thrownBy(() => checkKey('svc://b/a\n', 'a\n', rules))).toMatchObject({
      code: 'ERR_INVALID_URI',
      uri: 'svc://b/a\n',
      message: 'Invalid URI "svc://b/a\\n": the key contains U+000A, which Svc refuses',
    });
    expect(thrownBy(() => checkKey('svc://b/long', 'long-key\n', rules)).message).toContain('9 bytes of UTF-8');
  });
});
