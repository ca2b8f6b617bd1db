// Builders for OpenAPI v3 structural schemas, the single vocabulary in which every vmplane kind
// is written. Each builder takes the field's description first, so a field without one cannot be
// written; the generator turns the result into CRDs (for the API server), JSON Schemas (for ajv)
// and TypeScript types.

export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  /** Path (relative to the schema the rule sits on) reported as the failing field. */
  fieldPath?: string;
  reason?:
    'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  optionalOldSelf?: boolean;
}

export interface Schema {
  type?: 'object' | 'string' | 'integer' | 'number' | 'boolean' | 'array';
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: (string | number)[];
  default?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  /** vmplane-only: a regular expression ajv checks; the CRD expresses it as a CEL rule with a readable message instead. */
  'x-vmplane-pattern'?: string;
}

type Common = Pick<Schema, 'default' | 'x-kubernetes-validations'>;

function withRules(s: Schema, rules?: CelRule[]): Schema {
  if (rules && rules.length > 0) s['x-kubernetes-validations'] = rules;
  return s;
}

export function str(
  description: string,
  opts: Common & Pick<Schema, 'minLength' | 'maxLength' | 'pattern' | 'format'> = {},
): Schema {
  const { 'x-kubernetes-validations': rules, ...rest } = opts;
  return withRules({ type: 'string', description, maxLength: 253, ...rest }, rules);
}

export function int(
  description: string,
  opts: Common & Pick<Schema, 'minimum' | 'maximum'> = {},
): Schema {
  const { 'x-kubernetes-validations': rules, ...rest } = opts;
  return withRules({ type: 'integer', description, format: 'int32', ...rest }, rules);
}

export function bool(description: string, opts: Common = {}): Schema {
  const { 'x-kubernetes-validations': rules, ...rest } = opts;
  return withRules({ type: 'boolean', description, ...rest }, rules);
}

export function enumOf(description: string, values: readonly string[], opts: Common = {}): Schema {
  const { 'x-kubernetes-validations': rules, ...rest } = opts;
  return withRules({ type: 'string', description, enum: [...values], ...rest }, rules);
}

export function obj(
  description: string,
  properties: Record<string, Schema>,
  opts: Common & { required?: string[]; minProperties?: number } = {},
): Schema {
  const { 'x-kubernetes-validations': rules, required, ...rest } = opts;
  const s: Schema = { type: 'object', description, properties, ...rest };
  if (required && required.length > 0) s.required = required;
  return withRules(s, rules);
}

/** An object with no fields of its own, used as a marker (e.g. `blank: {}`). */
export function marker(description: string): Schema {
  return { type: 'object', description, properties: {} };
}

export function arr(
  description: string,
  items: Schema,
  opts: Common &
    Pick<Schema, 'minItems' | 'x-kubernetes-list-type' | 'x-kubernetes-list-map-keys'> & {
      maxItems: number;
    },
): Schema {
  const { 'x-kubernetes-validations': rules, ...rest } = opts;
  return withRules({ type: 'array', description, items, ...rest }, rules);
}

export function stringMap(description: string, maxProperties = 64): Schema {
  return {
    type: 'object',
    description,
    maxProperties,
    additionalProperties: { type: 'string', maxLength: 1024 },
  };
}

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** The name of another Kubernetes object (a DNS subdomain). */
export function objectName(description: string, extraRules: CelRule[] = []): Schema {
  return {
    ...str(description, { minLength: 1, maxLength: 253 }),
    'x-kubernetes-validations': [
      {
        rule: `self.matches(r'${DNS_SUBDOMAIN}')`,
        messageExpression: `'"' + self + '" is not a valid object name: use lowercase letters, digits, \\'-\\' and \\'.\\', starting and ending with a letter or digit'`,
      },
      ...extraRules,
    ],
    'x-vmplane-pattern': DNS_SUBDOMAIN,
  };
}

/** A short name used as a key inside the object (a DNS label, at most 63 characters). */
export function labelName(description: string): Schema {
  return {
    ...str(description, { minLength: 1, maxLength: 63 }),
    'x-kubernetes-validations': [
      {
        rule: `self.matches(r'${DNS_LABEL}')`,
        messageExpression: `'"' + self + '" is not a valid name: use at most 63 lowercase letters, digits and \\'-\\', starting and ending with a letter or digit'`,
      },
    ],
    'x-vmplane-pattern': DNS_LABEL,
  };
}

export const QUANTITY_WITH_UNIT = '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)$';

/**
 * A byte quantity (memory, disk size) written as a string with a unit, like `4Gi`. A bare number
 * is refused on purpose: `memory: 4` would mean four bytes, which is never what anybody wants.
 */
export function byteQuantity(description: string, opts: { min?: string } = {}): Schema {
  const rules: CelRule[] = [
    {
      rule: `self.matches(r'${QUANTITY_WITH_UNIT}')`,
      messageExpression: `'"' + self + '" is not a size with a unit: write a number followed by Ki, Mi, Gi, Ti (powers of 1024) or k, M, G, T (powers of 1000), such as 4Gi or 512Mi'`,
    },
  ];
  if (opts.min) {
    rules.push({
      rule: `!self.matches(r'${QUANTITY_WITH_UNIT}') || quantity(self).compareTo(quantity('${opts.min}')) >= 0`,
      messageExpression: `'"' + self + '" is too small: the minimum is ${opts.min}'`,
    });
  }
  return {
    type: 'string',
    description,
    maxLength: 32,
    'x-kubernetes-validations': rules,
    'x-vmplane-pattern': QUANTITY_WITH_UNIT,
  };
}

/** A metav1.LabelSelector. */
export function labelSelector(description: string): Schema {
  return obj(description, {
    matchLabels: stringMap('Labels that must all be present with these exact values.'),
    matchExpressions: arr(
      'Set-based requirements, all of which must hold.',
      obj(
        'One requirement: a label key, an operator and (for In and NotIn) values.',
        {
          key: str('The label key the requirement applies to.', { maxLength: 317 }),
          operator: enumOf('How the key relates to the values.', [
            'In',
            'NotIn',
            'Exists',
            'DoesNotExist',
          ]),
          values: arr(
            'The values for In and NotIn; must be empty for Exists and DoesNotExist.',
            str('A label value.', { maxLength: 63 }),
            {
              maxItems: 64,
            },
          ),
        },
        {
          required: ['key', 'operator'],
          'x-kubernetes-validations': [
            {
              rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",
              message:
                'values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist',
            },
          ],
        },
      ),
      { maxItems: 32 },
    ),
  });
}

/** metav1.Condition, as every status here reports them. */
export function conditions(description: string): Schema {
  return arr(
    description,
    obj(
      'One aspect of the current state, in the standard Kubernetes condition form.',
      {
        type: str('The aspect this condition describes, in CamelCase (for example Ready).', {
          maxLength: 316,
        }),
        status: enumOf('Whether the condition holds.', ['True', 'False', 'Unknown']),
        reason: str('A CamelCase word that says why, for programs to match on.', {
          maxLength: 1024,
        }),
        message: str('A sentence for people: what is happening and what to do about it.', {
          maxLength: 32768,
        }),
        lastTransitionTime: str('When the status last changed.', {
          format: 'date-time',
          maxLength: 64,
        }),
        observedGeneration: {
          type: 'integer',
          format: 'int64',
          minimum: 0,
          description: 'The metadata.generation the condition was computed from.',
        },
      },
      { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
    ),
    { maxItems: 32, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
  );
}

export function observedGeneration(): Schema {
  return {
    type: 'integer',
    format: 'int64',
    minimum: 0,
    description:
      'The metadata.generation this status was computed from; behind metadata.generation means the controller has not caught up yet.',
  };
}

/** Exactly one of the named optional fields is set. */
export function exactlyOneOf(fields: string[]): CelRule {
  const list = fields.map((f) => `has(self.${f})`).join(', ');
  return {
    rule: `[${list}].filter(x, x).size() == 1`,
    message: `set exactly one of ${fields.join(', ')}`,
  };
}

/** At most one of the named optional fields is set. */
export function atMostOneOf(fields: string[]): CelRule {
  const list = fields.map((f) => `has(self.${f})`).join(', ');
  return {
    rule: `[${list}].filter(x, x).size() <= 1`,
    message: `set at most one of ${fields.join(', ')}`,
  };
}

/** A field that cannot change once set; `why` says what to do instead. */
export function immutable(why: string): CelRule {
  return { rule: 'self == oldSelf', message: `is immutable: ${why}` };
}
