// KubeVirt's subresource API (subresources.kubevirt.io/v1) as the local engine serves it: which
// paths exist, what each asks of the engine, and the attributes a SubjectAccessReview checks for
// it (the ones KubeVirt's own ClusterRoles grant). Pure; the server does the I/O.

export const GROUP = 'subresources.kubevirt.io';
export const VERSION = 'v1';
export const GROUP_VERSION = `${GROUP}/${VERSION}`;

/** What a request asks of the engine. */
export type Operation =
  'console' | 'vnc' | 'vnc/screenshot' | 'pause' | 'unpause' | 'start' | 'stop' | 'restart';

interface Served {
  resource: 'virtualmachineinstances' | 'virtualmachines';
  operation: Operation;
  method: 'GET' | 'PUT';
  /** A websocket (console, VNC): the body is a stream of bytes both ways. */
  stream?: boolean;
}

/** Every subresource served, as KubeVirt's virt-api names them. */
export const SERVED: readonly Served[] = [
  { resource: 'virtualmachineinstances', operation: 'console', method: 'GET', stream: true },
  { resource: 'virtualmachineinstances', operation: 'vnc', method: 'GET', stream: true },
  { resource: 'virtualmachineinstances', operation: 'vnc/screenshot', method: 'GET' },
  { resource: 'virtualmachineinstances', operation: 'pause', method: 'PUT' },
  { resource: 'virtualmachineinstances', operation: 'unpause', method: 'PUT' },
  { resource: 'virtualmachines', operation: 'start', method: 'PUT' },
  { resource: 'virtualmachines', operation: 'stop', method: 'PUT' },
  { resource: 'virtualmachines', operation: 'restart', method: 'PUT' },
];

/** The API's discovery documents: the group list, the group, and the resource list. */
export function discovery(path: string): object | undefined {
  const group = {
    name: GROUP,
    versions: [{ groupVersion: GROUP_VERSION, version: VERSION }],
    preferredVersion: { groupVersion: GROUP_VERSION, version: VERSION },
  };
  switch (path.replace(/\/$/, '')) {
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] };
    case `/apis/${GROUP}`:
      return { kind: 'APIGroup', apiVersion: 'v1', ...group };
    case `/apis/${GROUP_VERSION}`:
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: GROUP_VERSION,
        resources: SERVED.map((s) => ({
          name: `${s.resource}/${s.operation}`,
          singularName: '',
          namespaced: true,
          kind: s.stream || s.operation === 'vnc/screenshot' ? 'VirtualMachineInstance' : 'Status',
          verbs: [s.method === 'GET' ? 'get' : 'update'],
        })),
      };
    default:
      return undefined;
  }
}

export interface Route {
  namespace: string;
  name: string;
  resource: Served['resource'];
  operation: Operation;
  stream: boolean;
  /** The SubjectAccessReview's resourceAttributes. */
  access: {
    namespace: string;
    name: string;
    verb: 'get' | 'update';
    group: string;
    version: string;
    resource: string;
    subresource: string;
  };
}

/** A request's route, or why there is none (status code and message). */
export function route(
  method: string,
  path: string,
): { ok: true; route: Route } | { ok: false; code: number; message: string } {
  const prefix = `/apis/${GROUP_VERSION}/namespaces/`;
  if (!path.startsWith(prefix)) return { ok: false, code: 404, message: `${path} is not served` };
  const [namespace, resource, name, ...rest] = path.slice(prefix.length).split('/');
  const operation = rest.join('/');
  const served = SERVED.find((s) => s.resource === resource && s.operation === operation);
  if (!namespace || !name || !served)
    return {
      ok: false,
      code: 404,
      message: `${path} is not served: ${GROUP_VERSION} serves ${SERVED.map((s) => `${s.resource}/NAME/${s.operation}`).join(', ')}`,
    };
  if (method !== served.method)
    return {
      ok: false,
      code: 405,
      message: `${resource}/${operation} accepts ${served.method}, not ${method}`,
    };
  const decoded = { namespace: decodeURIComponent(namespace), name: decodeURIComponent(name) };
  return {
    ok: true,
    route: {
      ...decoded,
      resource: served.resource,
      operation: served.operation,
      stream: !!served.stream,
      access: {
        ...decoded,
        verb: served.method === 'GET' ? 'get' : 'update',
        group: GROUP,
        version: VERSION,
        resource: served.resource,
        subresource: served.operation,
      },
    },
  };
}

/** The user the front proxy (the API server's aggregator) vouches for, from its X-Remote headers. */
export interface RemoteUser {
  user: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export function remoteUser(
  headers: Record<string, string | string[] | undefined>,
  names = { user: 'x-remote-user', group: 'x-remote-group', extraPrefix: 'x-remote-extra-' },
): RemoteUser | undefined {
  const all = (v: string | string[] | undefined): string[] =>
    v === undefined ? [] : Array.isArray(v) ? v : [v];
  const user = all(headers[names.user])[0];
  if (!user) return undefined;
  const extra: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers))
    if (k.startsWith(names.extraPrefix))
      extra[decodeURIComponent(k.slice(names.extraPrefix.length))] = all(v);
  return { user, groups: all(headers[names.group]), extra };
}

/** The API server's words for a refused request, as kube-apiserver phrases them. */
export function forbiddenMessage(u: RemoteUser, r: Route, reason?: string): string {
  return `${r.resource}.${GROUP} "${r.name}" is forbidden: User "${u.user}" cannot ${r.access.verb} resource "${r.resource}/${r.operation}" in API group "${GROUP}" in the namespace "${r.namespace}"${reason ? `: ${reason}` : ''}`;
}

/** A Kubernetes Status object for an error answer. */
export function status(code: number, message: string): object {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    405: 'MethodNotAllowed',
    409: 'Conflict',
    500: 'InternalError',
    503: 'ServiceUnavailable',
  };
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: reasons[code] ?? 'Unknown',
    code,
  };
}
