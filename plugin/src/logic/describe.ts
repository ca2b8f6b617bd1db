// One-line descriptions of vmplane objects for tables. Pure functions.
import type { StorageProfile, VirtualMachinePolicy } from '../../../api/generated/types.ts';
import { celRuleName } from '../../../policy/src/names.ts';

/** Each built-in rule of a policy as "name: value", then each CEL validation, named as reports name it. */
export function policyRules(
  spec: VirtualMachinePolicy['spec']
): { rule: string; detail: string }[] {
  const out: { rule: string; detail: string }[] = [];
  for (const [rule, value] of Object.entries(spec.rules ?? {})) {
    if (value === undefined) continue;
    out.push({ rule, detail: typeof value === 'object' ? JSON.stringify(value) : String(value) });
  }
  (spec.validations ?? []).forEach((v, i) =>
    out.push({
      rule: celRuleName(v, i),
      detail: `${v.expression}${v.message ? ` — ${v.message}` : ''}`,
    })
  );
  return out;
}

export interface ProfileView {
  modes: string;
  recognized: boolean;
  /** What the controller says, including how to fix an unrecognized provisioner. */
  message: string;
}

export function profileView(p: Pick<StorageProfile, 'spec' | 'status'>): ProfileView {
  const sets = p.status?.claimPropertySets ?? [];
  const cond = p.status?.conditions?.find(c => c.type === 'Recognized');
  return {
    modes: sets.length
      ? sets.map(s => `${s.accessModes.join('+')} / ${s.volumeMode}`).join(', ')
      : '-',
    recognized: cond?.status === 'True',
    message: cond?.message ?? '',
  };
}
