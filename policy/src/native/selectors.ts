// Label selectors as CEL over a labels map, with the meaning of api/src/selectors.ts
// matchesSelector (every requirement holds; an absent key fails In and Exists, passes NotIn and
// DoesNotExist), and whether the API server would accept one as a metav1.LabelSelector.
import type { LabelSelector } from '../../../api/src/selectors.ts';
import { celList, celString } from './cel-text.ts';

/** The VM a rule looks at, as in policy/src/types.ts subject(): object, or on DELETE oldObject. */
export const SUBJECT = '(object != null ? object : oldObject)';

/** The labels of a VM expression, {} when it has none. */
export const labelsOf = (vm: string): string =>
  `(has(${vm}.metadata.labels) ? ${vm}.metadata.labels : {})`;

/** CEL that is true when `labels` (a map expression) matches the selector. */
export function selectorCel(selector: LabelSelector | undefined, labels: string): string {
  const terms: string[] = [];
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {}))
    terms.push(`(${celString(k)} in ${labels} && ${labels}[${celString(k)}] == ${celString(v)})`);
  for (const e of selector?.matchExpressions ?? []) {
    const key = celString(e.key);
    const values = celList(e.values ?? []);
    switch (e.operator) {
      case 'In':
        terms.push(`(${key} in ${labels} && ${labels}[${key}] in ${values})`);
        break;
      case 'NotIn':
        terms.push(`(!(${key} in ${labels}) || !(${labels}[${key}] in ${values}))`);
        break;
      case 'Exists':
        terms.push(`(${key} in ${labels})`);
        break;
      case 'DoesNotExist':
        terms.push(`!(${key} in ${labels})`);
        break;
      default:
        terms.push('false');
    }
  }
  return terms.length ? terms.join(' && ') : 'true';
}

/**
 * Why the API server would refuse this selector (metav1 validation: In and NotIn need values,
 * Exists and DoesNotExist take none; operators are those four), or undefined.
 */
export function selectorProblem(selector: LabelSelector | undefined): string | undefined {
  for (const e of selector?.matchExpressions ?? []) {
    const n = e.values?.length ?? 0;
    if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0)
      return `its ${e.operator} requirement on ${e.key} has no values`;
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && n > 0)
      return `its ${e.operator} requirement on ${e.key} has values`;
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator))
      return `its requirement on ${e.key} has operator ${String(e.operator)}`;
  }
  return undefined;
}
