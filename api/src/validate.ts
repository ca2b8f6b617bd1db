// ajv validation of vmplane objects against the generated JSON Schemas. The webhooks run this
// before any logic; errors name the field in the dotted form kubectl users know.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { schemas } from '../generated/schemas/index.ts';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);

const KUBERNETES_KEYWORDS = [
  'x-kubernetes-validations',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-int-or-string',
];

export function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  addFormats(ajv);
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  // CEL rules are enforced by the API server; here they are annotations.
  for (const keyword of KUBERNETES_KEYWORDS) ajv.addKeyword(keyword);
  return ajv;
}

/** `/spec/disks/0/name` -> `spec.disks[0].name`. */
export function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (extra) parts.push(extra);
  let out = '';
  for (const raw of parts) {
    const p = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else out += out ? `.${p}` : p;
  }
  return out || '(root)';
}

function describe(e: ErrorObject, data: unknown): string {
  const params = e.params as Record<string, unknown>;
  const field = fieldPath(
    e.instancePath,
    e.keyword === 'required' ? String(params.missingProperty) : undefined,
  );
  const value = valueAt(data, e.instancePath);
  const shown = value === undefined ? '' : ` (got ${JSON.stringify(value)?.slice(0, 80)})`;
  switch (e.keyword) {
    case 'required':
      return `${field}: required`;
    case 'enum':
      return `${field}: must be one of ${(params.allowedValues as unknown[]).join(', ')}${shown}`;
    case 'additionalProperties':
      return `${fieldPath(e.instancePath, String(params.additionalProperty))}: unknown field`;
    default:
      return `${field}: ${e.message ?? 'is invalid'}${shown}`;
  }
}

function valueAt(data: unknown, instancePath: string): unknown {
  let cur: unknown = data;
  for (const raw of instancePath.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export interface ValidationResult {
  valid: boolean;
  errors: string[];
}

export class ObjectValidator {
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(ajv: Ajv = createAjv()) {
    for (const [kind, schema] of Object.entries(schemas))
      this.compiled.set(kind, ajv.compile(schema));
  }

  kinds(): string[] {
    return [...this.compiled.keys()];
  }

  validate(obj: unknown): ValidationResult {
    const kind = obj && typeof obj === 'object' ? (obj as { kind?: unknown }).kind : undefined;
    const fn = typeof kind === 'string' ? this.compiled.get(kind) : undefined;
    if (!fn) {
      return {
        valid: false,
        errors: [
          `kind: ${JSON.stringify(kind)} is not a vmplane kind; expected one of ${this.kinds().join(', ')}`,
        ],
      };
    }
    if (fn(obj)) return { valid: true, errors: [] };
    return { valid: false, errors: (fn.errors ?? []).map((e) => describe(e, obj)) };
  }
}
