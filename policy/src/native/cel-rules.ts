// A policy's CEL validations as ValidatingAdmissionPolicy validations: those that read only what
// the API server gives a ValidatingAdmissionPolicy the same way vmplane's webhook does (object,
// oldObject, namespaceObject's metadata and the request's operation, namespace, user and dryRun),
// with the webhook's message: `policy "<p>" rule <r>: ` before the validation's own message, its
// messageExpression's result when that is a non-blank string, else message, else
// `failed: <expression>` (policy/src/validations.ts celViolation).
import type { VirtualMachinePolicy } from '../../../api/generated/types.ts';
import { celRuleName } from '../names.ts';
import { messagePrefix, type Translation } from './builtin.ts';
import { celReferences, celString } from './cel-text.ts';

type Validation = NonNullable<VirtualMachinePolicy['spec']['validations']>[number];

const ELSEWHERE: Record<string, string> = {
  vmClass: 'reads vmClass (the VirtualMachineClass), which the API server cannot look up',
  image: 'reads image (the VM image), which the API server cannot look up',
  authorizer: "uses authorizer, which vmplane's webhook does not provide",
  params: 'reads params, which vmplane policies do not have',
  variables: 'reads variables, which vmplane policies do not have',
};

/** request fields the webhook fills in as the API server does (request.name may differ on generateName). */
const REQUEST_PATHS = new Set([
  'operation',
  'namespace',
  'dryRun',
  'userInfo.username',
  'userInfo.groups',
]);
/** namespaceObject fields the webhook's cached Namespace and the API server's copy share. */
const NAMESPACE_PATHS = new Set([
  'metadata.name',
  'metadata.labels',
  'metadata.annotations',
  'metadata.uid',
  'metadata.creationTimestamp',
  'status.phase',
]);

/** Why an expression cannot run in the API server with the webhook's meaning, or undefined. */
export function expressionProblem(text: string, field: string): string | undefined {
  const refs = celReferences(text);
  if (!refs) return `its ${field} cannot be read`;
  for (const path of refs) {
    const [root, ...rest] = path;
    const selected = rest.join('.');
    if (root && ELSEWHERE[root]) return `its ${field} ${ELSEWHERE[root]}`;
    if (root === 'request' && !REQUEST_PATHS.has(selected))
      return `its ${field} reads request${selected ? `.${selected}` : ''}, which vmplane's webhook does not fill in as the API server does`;
    if (
      root === 'namespaceObject' &&
      ![...NAMESPACE_PATHS].some((p) => selected === p || selected.startsWith(`${p}.`))
    )
      return `its ${field} reads namespaceObject${selected ? `.${selected}` : ''}, which the API server's copy of the namespace may not have as the webhook's does`;
  }
  return undefined;
}

/** Translates the validation at `index`; the rule name is celRuleName's. */
export function celTranslation(v: Validation, index: number, policy: string): Translation {
  const problem =
    expressionProblem(v.expression, 'expression') ??
    (v.messageExpression ? expressionProblem(v.messageExpression, 'messageExpression') : undefined);
  if (problem) return { reason: problem };
  const prefix = messagePrefix(policy, celRuleName(v, index));
  const fallback = v.message ? v.message : `failed: ${v.expression}`;
  // The API server shows one trimmed line: a message it would trim or refuse reads differently.
  if (/[\r\n]/.test(fallback))
    return { reason: 'its message spans several lines, which the API server does not show' };
  if (fallback !== fallback.trimEnd())
    return { reason: 'its message ends in blanks, which the API server trims' };
  const reason = v.reason ?? 'Forbidden';
  return {
    validation: {
      expression: v.expression,
      message: `${prefix}${fallback}`,
      // A result that is not a string, or blank, or an error, falls back to message (which the
      // API server does itself when this expression fails).
      ...(v.messageExpression
        ? {
            messageExpression: `(${v.messageExpression}).trim() != '' ? ${celString(prefix)} + (${v.messageExpression}) : ${celString(`${prefix}${fallback}`)}`,
          }
        : {}),
      reason,
    },
  };
}
