// The match conditions that spare the API server calls (and evaluations) that cannot change a
// decision, shared by the webhooks' registrations (webhooks/src/registration.ts) and the generated
// ValidatingAdmissionPolicies (native/plan.ts), so both see the same requests.

/** The CEL of a map in metadata, an absent one read as empty. */
const meta = (o: 'object' | 'oldObject', field: 'labels' | 'annotations'): string =>
  `(has(${o}.metadata.${field}) ? ${o}.metadata.${field} : {})`;

/**
 * Mutations of a VM only matter when its spec or labels change (the defaults read both): status,
 * finalizer, owner and annotation updates skip them.
 */
export const SPEC_OR_LABELS_CHANGED = {
  name: 'spec-or-labels-changed',
  expression: `request.operation != 'UPDATE' || object.spec != oldObject.spec || ${meta('object', 'labels')} != ${meta('oldObject', 'labels')}`,
} as const;

/**
 * Policies also read annotations (requiredAnnotations, CEL): an update that only removes a
 * required annotation must be checked. Status, finalizer and owner updates still skip them.
 */
export const SPEC_LABELS_OR_ANNOTATIONS_CHANGED = {
  name: 'spec-labels-or-annotations-changed',
  expression: `${SPEC_OR_LABELS_CHANGED.expression} || ${meta('object', 'annotations')} != ${meta('oldObject', 'annotations')}`,
} as const;
