/**
 * Credentials a store was given are scrubbed wherever a text quotes them literally, from 16
 * characters up (shorter ones would scrub ordinary words), percent-decoded forms included. The
 * remembered set belongs to this file's copy of the library, which no other test file shares.
 */
import { redactSecrets, rememberSecrets } from '../../lib/backends/cloud/errors';

test('16 characters and more are scrubbed; 15 are not; non-strings are passed over', () => {
  const fifteen = 'abcdefghijklmno';
  const sixteen = 'ABCDEFGHIJKLMNOP';
  const seventeen = 'qrstuvwxyz0123456';
  rememberSecrets(fifteen, sixteen, seventeen, undefined, 42, null);
  expect(redactSecrets(`a ${fifteen} b`)).toBe(`a ${fifteen} b`);
  expect(redactSecrets(`a ${sixteen} b ${sixteen}`)).toBe('a REDACTED b REDACTED');
  expect(redactSecrets(`x${seventeen}y`)).toBe('xREDACTEDy');
});

test('the percent-decoded form is scrubbed too, when it is still 16 characters or more', () => {
  rememberSecrets('sig%2Bwith%2Fslash%3Dpadding', 'short%2B%2B%2B%2B%2Bx');
  expect(redactSecrets('quoted: sig+with/slash=padding.')).toBe('quoted: REDACTED.');
  expect(redactSecrets('quoted: sig%2Bwith%2Fslash%3Dpadding')).toBe('quoted: REDACTED');
  // 'short+++++x' decodes to 11 characters: only the encoded form is remembered.
  expect(redactSecrets('short+++++x')).toBe('short+++++x');
  expect(redactSecrets('short%2B%2B%2B%2B%2Bx')).toBe('REDACTED');
});
