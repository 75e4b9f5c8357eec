/**
 * A StrykerJS ignorer: mutants inside the *text* of an error message are not tested.
 *
 * Why: tests pin the error's `code`, `uri` and cause chain, the contract users program against,
 * and assert on messages only where the wording carries information (a name, a limit). Mutating
 * every literal in every message ("Invalid URI" → "") yields hundreds of mutants that only a
 * snapshot of each sentence would kill, which would make the tests brittle without catching a
 * bug a user could hit. The code argument, the details (uri, cause) and every condition that
 * decides *whether* to throw are still mutated.
 *
 * Ignored: the message argument of `new S3dlioError(code, message, …)`, `new Error(message)`
 * (and TypeError/RangeError/AggregateError's message), of `process.emitWarning(message, …)`, of
 * the library's message helpers listed in MESSAGE_ARGUMENTS, and a literal `message: '…'` in an
 * object (a classified cloud failure carries its text so).
 */
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

/** callee name → indexes of its arguments that are message text. */
const MESSAGE_ARGUMENTS = new Map([
  ['S3dlioError', [1]],
  ['Error', [0]],
  ['TypeError', [0]],
  ['RangeError', [0]],
  ['AggregateError', [1]],
  ['TruncatedBodyError', [0]],
  ['DOMException', [0]],
  ['emitWarning', [0]],
  // lib/formats/common.ts: badFormat(operation, message, cause?)
  ['badFormat', [1]],
  // lib/formats npy.ts/zip.ts: const fail = (message) => badFormat(operation, message)
  ['fail', [0]],
  // lib/validate.ts: invalidType/invalidValue(name, expected, value): `expected` is prose
  ['invalidType', [1]],
  ['invalidValue', [1]],
  // lib/formats/common.ts: invalidArgument(name, expected, received)
  ['invalidArgument', [1, 2]],
]);

function calleeName(callee) {
  if (callee.type === 'Identifier') return callee.name;
  if (callee.type === 'MemberExpression' && callee.property.type === 'Identifier') return callee.property.name;
  return undefined;
}

const REASON =
  'Error message text: tests pin the code, uri and cause, not the wording (scripts/mutation/error-message-ignorer.mjs)';

/** `{ message: '…' }` or `{ message: `…${x}…` }`: the text itself, not the property. */
function isMessageProperty(path) {
  const parent = path.parentPath;
  return (
    path.key === 'value' &&
    (path.isStringLiteral() || path.isTemplateLiteral()) &&
    Boolean(parent?.isObjectProperty()) &&
    !parent.node.computed &&
    parent.node.key.type === 'Identifier' &&
    parent.node.key.name === 'message'
  );
}

const errorMessages = {
  shouldIgnore(path) {
    if (isMessageProperty(path)) return REASON;
    if (path.listKey !== 'arguments' || typeof path.key !== 'number') return undefined;
    const parent = path.parentPath;
    if (!parent || (!parent.isCallExpression() && !parent.isNewExpression())) return undefined;
    const indexes = MESSAGE_ARGUMENTS.get(calleeName(parent.node.callee));
    if (!indexes?.includes(path.key)) return undefined;
    return REASON;
  },
};

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, 'error-messages', errorMessages)];
