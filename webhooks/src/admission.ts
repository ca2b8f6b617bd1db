// admission.k8s.io/v1 AdmissionReview: the request's shape, checked with ajv before anything else,
// and the responses. A request that is not a well-formed review gets a one-line reason (HTTP 400).
import { Ajv } from 'ajv';
import { fieldPath } from '../../api/src/validate.ts';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo?: {
    username?: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[]>;
  };
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  dryRun?: boolean;
  options?: unknown;
}

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

const gvk = {
  type: 'object',
  required: ['group', 'version', 'kind'],
  properties: {
    group: { type: 'string' },
    version: { type: 'string', minLength: 1 },
    kind: { type: 'string', minLength: 1 },
  },
};

const reviewSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'request'],
  properties: {
    apiVersion: { const: 'admission.k8s.io/v1' },
    kind: { const: 'AdmissionReview' },
    request: {
      type: 'object',
      required: ['uid', 'kind', 'operation'],
      properties: {
        uid: { type: 'string', minLength: 1, maxLength: 128 },
        kind: gvk,
        name: { type: 'string' },
        namespace: { type: 'string' },
        operation: { enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
        object: { type: ['object', 'null'] },
        oldObject: { type: ['object', 'null'] },
        dryRun: { type: 'boolean' },
        userInfo: { type: 'object' },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: false });
const checkReview = ajv.compile(reviewSchema);

/** Undefined when the body is a well-formed review; otherwise why it is not, in one line. */
export function reviewProblem(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return 'body: must be a JSON object (an AdmissionReview)';
  if (checkReview(body)) {
    const r = (body as AdmissionReview).request;
    if (
      (r.operation === 'CREATE' || r.operation === 'UPDATE') &&
      (r.object === undefined || r.object === null)
    ) {
      return `request.object: required for ${r.operation}`;
    }
    if (r.operation === 'UPDATE' && (r.oldObject === undefined || r.oldObject === null))
      return 'request.oldObject: required for UPDATE';
    if (r.operation === 'DELETE' && !r.name && !r.oldObject)
      return 'request.name: required for DELETE';
    return undefined;
  }
  const e = checkReview.errors?.[0];
  if (!e) return 'body: not an AdmissionReview';
  const params = e.params as Record<string, unknown>;
  const field = fieldPath(
    e.instancePath,
    e.keyword === 'required' ? String(params.missingProperty) : undefined,
  );
  if (e.keyword === 'required') return `${field}: required`;
  if (e.keyword === 'const') return `${field}: must be ${JSON.stringify(params.allowedValue)}`;
  if (e.keyword === 'enum')
    return `${field}: must be one of ${(params.allowedValues as string[]).join(', ')}`;
  return `${field}: ${e.message}`;
}

export function review(response: AdmissionResponse): {
  apiVersion: string;
  kind: string;
  response: AdmissionResponse;
} {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  409: 'Conflict',
  422: 'Invalid',
  500: 'InternalError',
};

export function denied(
  uid: string,
  code: number,
  message: string,
  warnings: string[] = [],
): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: { code, message, reason: REASONS[code] ?? 'Forbidden' },
    ...(warnings.length ? { warnings } : {}),
  };
}

export function allowed(
  uid: string,
  patch?: unknown[],
  warnings: string[] = [],
): AdmissionResponse {
  const r: AdmissionResponse = { uid, allowed: true };
  if (patch && patch.length) {
    r.patchType = 'JSONPatch';
    r.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  if (warnings.length) r.warnings = warnings;
  return r;
}
