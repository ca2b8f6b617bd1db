// The built-in rules (policy/src/rules.ts) as ValidatingAdmissionPolicy validations, for those
// that need nothing but the VM: the same verdict and the same message, built by a
// messageExpression where it names what the VM has. Built-in rules do not run on DELETE (the
// webhook skips them there), so each holds on DELETE. The others say why they stay in the webhook.
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { networkProblems, POD_NETWORK, type Rules } from '../rules.ts';
import { celList, celString } from './cel-text.ts';

export interface NativeValidation {
  expression: string;
  message: string;
  messageExpression?: string;
  reason: 'Forbidden' | 'Invalid' | 'Unauthorized';
}

/** What a rule translates to: a validation (before exceptions), or why it cannot. */
export type Translation = { validation: NativeValidation } | { reason: string };

/** What users read before the rule's message, as in policy/src/evaluate.ts admissionVerdict. */
export const messagePrefix = (policy: string, rule: string): string =>
  `policy "${policy}" rule ${rule}: `;

const NOT_ON_DELETE = "request.operation == 'DELETE'";
const CLASS = 'reads the VirtualMachineClass, which the API server cannot look up';

type Builder<K extends keyof Rules> = (
  setting: NonNullable<Rules[K]>,
  prefix: string,
) => Translation;

const validation = (
  prefix: string,
  holds: string,
  message: string,
  fallback: string,
): Translation => ({
  validation: {
    expression: `${NOT_ON_DELETE} || (${holds})`,
    messageExpression: `${celString(prefix)} + ${message}`,
    message: `${prefix}${fallback}`,
    reason: 'Forbidden',
  },
});

function required<K extends 'requiredLabels' | 'requiredAnnotations'>(
  field: 'labels' | 'annotations',
): Builder<K> {
  return (reqs, prefix) => {
    const map = `(has(object.metadata.${field}) ? object.metadata.${field} : {})`;
    const what = field.slice(0, -1);
    const holds: string[] = [];
    const parts: string[] = [];
    for (const r of reqs) {
      const key = celString(r.key);
      const present = `${key} in ${map}`;
      const allowed = r.values ? `${map}[${key}] in ${celList(r.values)}` : 'true';
      holds.push(`(${present} && ${allowed})`);
      const bad = r.values
        ? `!(${allowed}) ? ${celString(`${what} ${r.key}="`)} + ${map}[${key}] + ${celString(`" must be one of ${r.values.join(', ')}`)} : ''`
        : "''";
      parts.push(`(!(${present}) ? ${celString(`${what} ${r.key} is required`)} : ${bad})`);
    }
    return validation(
      prefix,
      holds.join(' && ') || 'true',
      `[${parts.join(', ')}].filter(s, s != '').join('; ')`,
      `a required ${what} is missing or has a value that is not allowed`,
    );
  };
}

const powerState = '(has(object.spec.powerState) ? object.spec.powerState : "PoweredOn")';

/** spec.network.interfaces is set; else the VM has one interface, default, on the pod network. */
const hasInterfaces = 'has(object.spec.network) && has(object.spec.network.interfaces)';
const networkOf = (i: string): string =>
  `(has(${i}.network) ? ${i}.network : ${celString(POD_NETWORK)})`;

const diskCount =
  '((has(object.spec.image) ? 1 : 0) + (has(object.spec.disks) ? size(object.spec.disks) : 0))';

/**
 * A glob of allowedImages as an RE2 pattern with picomatch's meaning, when it uses only * and ?
 * (neither matches a slash; a leading wildcard does not match a leading dot), else undefined.
 */
export function globRegex(glob: string): string | undefined {
  if (!/^[A-Za-z0-9._*?-]+$/.test(glob) || glob.includes('**')) return undefined;
  // Two wildcards at the start (*?, ?*, ??) would need picomatch's dot rule across both.
  if (/^[*?][*?]/.test(glob)) return undefined;
  const body = (g: string): string =>
    g.replace(/[.*?-]/g, (c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : `\\${c}`));
  if (glob.startsWith('*')) return `(?:[^/.][^/]*)?${body(glob.slice(1))}`;
  if (glob.startsWith('?')) return `[^/.]${body(glob.slice(1))}`;
  return body(glob);
}

const BUILDERS: { [K in keyof Rules]-?: Builder<K> | string } = {
  allowedClasses: CLASS,
  allowedImages: (patterns, prefix) => {
    if (patterns.some((p) => p.includes('/')))
      return {
        reason:
          'a KIND/NAME pattern needs the kind of the image the VM boots from, which the API server cannot look up',
      };
    const res = patterns.map(globRegex);
    if (res.some((r) => r === undefined))
      return {
        reason: 'a pattern uses glob syntax other than * and ?, which has no exact CEL form',
      };
    const re = `^(?:${res.join('|')})$`;
    return validation(
      prefix,
      `!has(object.spec.image) || (object.spec.image.name != '' && object.spec.image.name.matches(${celString(re)}))`,
      `'image "' + object.spec.image.name + ${celString(`" is not in the approved library; allowed: ${patterns.join(', ')}`)}`,
      `the image is not in the approved library; allowed: ${patterns.join(', ')}`,
    );
  },
  maxCPUs: CLASS,
  maxMemory: CLASS,
  maxDisks: (max, prefix) =>
    validation(
      prefix,
      `${diskCount} <= ${max}`,
      `string(${diskCount}) + ${celString(` disks exceed the maximum of ${max}`)}`,
      `the VM has more than ${max} disks`,
    ),
  maxTotalDiskSize:
    'reads the sizes of the image and of the VirtualMachineDisks the VM attaches, which the API server cannot look up',
  allowedStorageClasses:
    'reads the storage class of the VirtualMachineDisks the VM attaches, which the API server cannot look up',
  allowedNetworks: (allowed, prefix) => {
    const res = allowed.map(globRegex);
    if (res.some((r) => r === undefined))
      return {
        reason: 'a pattern uses glob syntax other than * and ?, which has no exact CEL form',
      };
    const ok = (n: string): string => `${n}.matches(${celString(`^(?:${res.join('|')})$`)})`;
    const ifaces = 'object.spec.network.interfaces';
    const at = "'spec.network.interfaces[' + string(k) + ']";
    // Whether "pod" matches is known now: a VM without interfaces has one, on the pod network.
    const noInterfaces = networkProblems(allowed, { spec: {} } as VirtualMachine);
    const bad = `${ifaces}.transformList(k, i, !${ok(networkOf('i'))}, has(i.network) ? ${at}.network: "' + i.network + '" (interface ' + i.name + ') is not allowed' : ${at}: interface ' + i.name + ' is on the pod network ("pod"), which is not allowed')`;
    return validation(
      prefix,
      `${hasInterfaces} ? ${ifaces}.all(i, ${ok(networkOf('i'))}) : ${noInterfaces.length === 0}`,
      `(${hasInterfaces} ? ${bad}.join('; ') : ${celString(noInterfaces.join('; '))}) + ${celString(`; allowed: ${allowed.join(', ')}`)}`,
      `an interface is on a network that is not allowed; allowed: ${allowed.join(', ')}`,
    );
  },
  requiredLabels: required<'requiredLabels'>('labels'),
  requiredAnnotations: required<'requiredAnnotations'>('annotations'),
  allowGPUs: (allow, prefix) =>
    allow ? validation(prefix, 'true', "''", 'never fails') : { reason: CLASS },
  allowedPowerStates: (allowed, prefix) =>
    validation(
      prefix,
      `${powerState} in ${celList(allowed)}`,
      `'power state ' + ${powerState} + ${celString(` is not allowed; allowed: ${allowed.join(', ')}`)}`,
      `the power state is not allowed; allowed: ${allowed.join(', ')}`,
    ),
  allowedServiceTypes:
    'checks VirtualMachineServices, which the generated ValidatingAdmissionPolicy (written for VirtualMachines) does not cover',
};

/** The built-in rules a policy sets, in the webhook's order, each translated or not. */
export function builtinTranslations(
  rules: Rules | undefined,
  policy: string,
): { rule: string; translation: Translation }[] {
  const out: { rule: string; translation: Translation }[] = [];
  for (const name of Object.keys(BUILDERS) as (keyof Rules)[]) {
    const setting = rules?.[name];
    if (setting === undefined) continue;
    const b = BUILDERS[name] as Builder<typeof name> | string;
    out.push({
      rule: name,
      translation:
        typeof b === 'string' ? { reason: b } : b(setting as never, messagePrefix(policy, name)),
    });
  }
  return out;
}
