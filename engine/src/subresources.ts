// KubeVirt's subresource API (subresources.kubevirt.io/v1) as the local engine serves it: which
// paths exist, what each asks of the engine, and the attributes a SubjectAccessReview checks for
// it (the ones KubeVirt's own ClusterRoles grant). Pure; the server does the I/O.

export const GROUP = 'subresources.kubevirt.io';
export const VERSION = 'v1';
export const GROUP_VERSION = `${GROUP}/${VERSION}`;

/** What a request asks of the engine. */
export type Operation =
  | 'console'
  | 'vnc'
  | 'vnc/screenshot'
  | 'pause'
  | 'unpause'
  | 'start'
  | 'stop'
  | 'restart'
  | 'migrate'
  | 'guestosinfo'
  | 'userlist'
  | 'filesystemlist'
  | 'portforward';

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
  { resource: 'virtualmachines', operation: 'migrate', method: 'PUT' },
  { resource: 'virtualmachineinstances', operation: 'guestosinfo', method: 'GET' },
  { resource: 'virtualmachineinstances', operation: 'userlist', method: 'GET' },
  { resource: 'virtualmachineinstances', operation: 'filesystemlist', method: 'GET' },
  // portforward/{port}[/{protocol}]: a websocket carrying the TCP connection's bytes.
  { resource: 'virtualmachineinstances', operation: 'portforward', method: 'GET', stream: true },
  { resource: 'virtualmachines', operation: 'portforward', method: 'GET', stream: true },
];

/**
 * The subresources KubeVirt v1.7.0's virt-api serves that this engine does not (yet): asked for,
 * they answer 404 with a message that names the engine, not KubeVirt's bare 404
 * (pkg/virt-api/api.go registers them; docs/kubevirt.md lists them for users).
 */
export const NOT_SERVED: readonly string[] = [
  'virtualmachines/expand-spec',
  'virtualmachines/addvolume',
  'virtualmachines/removevolume',
  'virtualmachines/memorydump',
  'virtualmachines/removememorydump',
  'virtualmachines/objectgraph',
  'virtualmachines/evacuate/cancel',
  'virtualmachineinstances/freeze',
  'virtualmachineinstances/unfreeze',
  'virtualmachineinstances/reset',
  'virtualmachineinstances/softreboot',
  'virtualmachineinstances/usbredir',
  'virtualmachineinstances/vsock',
  'virtualmachineinstances/addvolume',
  'virtualmachineinstances/removevolume',
  'virtualmachineinstances/objectgraph',
  'virtualmachineinstances/sev/fetchcertchain',
  'virtualmachineinstances/sev/querylaunchmeasurement',
  'virtualmachineinstances/sev/setupsession',
  'virtualmachineinstances/sev/injectlaunchsecret',
  'virtualmachineinstances/evacuate/cancel',
  'expand-vm-spec',
  'guestfs',
];

/** What the engine says of its version: KubeVirt's release it plays, marked as the local engine. */
export function versionInfo(kubevirtVersion: string): object {
  return {
    gitVersion: `${kubevirtVersion}+vmplane.local-engine`,
    gitCommit: '',
    gitTreeState: '',
    buildDate: '',
    goVersion: '',
    compiler: '',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

/** What a PUT's body asks (virtctl's StartOptions, StopOptions, RestartOptions, PauseOptions). */
export interface RequestOptions {
  dryRun?: boolean;
  paused?: boolean;
  gracePeriod?: number;
  gracePeriodSeconds?: number;
  /** migrate: labels the target node must carry as well (MigrateOptions.addedNodeSelector). */
  addedNodeSelector?: Record<string, string>;
}

/**
 * The options in a request body, checked as virt-api decodes them: an empty body is none, a body
 * that is not an object of the right shape is 400 naming the field.
 */
export function requestOptions(
  body: string,
): { ok: true; options: RequestOptions } | { ok: false; message: string } {
  if (!body.trim()) return { ok: true, options: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    return {
      ok: false,
      message: `Can not unmarshal Request body to struct, error: ${(e as Error).message}`,
    };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { ok: false, message: 'Can not unmarshal Request body to struct, error: not an object' };
  const o = parsed as Record<string, unknown>;
  const bad = (field: string, accepted: string): { ok: false; message: string } => ({
    ok: false,
    message: `Can not unmarshal Request body to struct, error: ${field}: ${JSON.stringify(o[field])} is not accepted: ${accepted}`,
  });
  const out: RequestOptions = {};
  if (o.dryRun !== undefined && o.dryRun !== null) {
    if (!Array.isArray(o.dryRun) || !o.dryRun.every((x) => typeof x === 'string'))
      return bad('dryRun', 'a list of strings, ["All"] for a dry run');
    // virt-api honours a dry run when its first value is All.
    if (o.dryRun[0] === 'All') out.dryRun = true;
  }
  if (o.paused !== undefined && o.paused !== null) {
    if (typeof o.paused !== 'boolean') return bad('paused', 'true or false');
    out.paused = o.paused;
  }
  for (const k of ['gracePeriod', 'gracePeriodSeconds'] as const) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) return bad(k, 'a whole number of seconds');
    out[k] = v;
  }
  if (o.addedNodeSelector !== undefined && o.addedNodeSelector !== null) {
    const sel = o.addedNodeSelector;
    if (
      typeof sel !== 'object' ||
      Array.isArray(sel) ||
      !Object.values(sel).every((v) => typeof v === 'string')
    )
      return bad('addedNodeSelector', 'an object of label names to string values');
    out.addedNodeSelector = sel as Record<string, string>;
  }
  return { ok: true, options: out };
}

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

/** What a portforward asks: the resource named in the path, its port and protocol. */
export interface ForwardRequest {
  resource: Served['resource'];
  port: number;
  protocol: 'tcp' | 'udp';
}

export interface Route {
  namespace: string;
  name: string;
  resource: Served['resource'];
  operation: Operation;
  stream: boolean;
  /** portforward's port and protocol (the path's `{port}[/{protocol}]`). */
  forward?: { port: number; protocol: 'tcp' | 'udp' };
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
  const forwarding = rest[0] === 'portforward' && rest.length >= 2 && rest.length <= 3;
  const operation = forwarding ? 'portforward' : rest.join('/');
  if (rest[0] === 'portforward' && !forwarding)
    return {
      ok: false,
      code: 404,
      message: `${path} is not served: portforward takes a port, ${resource}/NAME/portforward/PORT[/tcp|udp]`,
    };
  const served = SERVED.find((s) => s.resource === resource && s.operation === operation);
  if (!namespace || !name || !served) {
    const known =
      NOT_SERVED.includes(`${resource}/${operation}`) || NOT_SERVED.includes(resource ?? '');
    return {
      ok: false,
      code: 404,
      message: known
        ? `${resource}/${operation} is a KubeVirt v1.7 subresource that vmplane's local engine does not serve yet; it serves ${SERVED.map((s) => `${s.resource}/${s.operation}`).join(', ')}`
        : `${path} is not served: ${GROUP_VERSION} serves ${SERVED.map((s) => `${s.resource}/NAME/${s.operation}`).join(', ')}`,
    };
  }
  if (method !== served.method)
    return {
      ok: false,
      code: 405,
      message: `${resource}/${operation} accepts ${served.method}, not ${method}`,
    };
  const decoded = { namespace: decodeURIComponent(namespace), name: decodeURIComponent(name) };
  const forward = forwarding ? portForwardTarget(rest[1] ?? '', rest[2]) : undefined;
  if (forward && 'message' in forward) return { ok: false, code: 400, message: forward.message };
  return {
    ok: true,
    route: {
      ...decoded,
      ...(forward ? { forward } : {}),
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

/**
 * portforward's `{port}[/{protocol}]`, checked as virt-api's route parameters are (a port of 1 to
 * 65535; tcp when no protocol is given, else tcp or udp).
 */
export function portForwardTarget(
  port: string,
  protocol: string | undefined,
): { port: number; protocol: 'tcp' | 'udp' } | { message: string } {
  const n = Number(port);
  if (!/^\d{1,5}$/.test(port) || n < 1 || n > 65535)
    return {
      message: `portforward: port ${JSON.stringify(port)} is not accepted: a port number from 1 to 65535`,
    };
  const p = protocol ?? 'tcp';
  if (p !== 'tcp' && p !== 'udp')
    return {
      message: `portforward: protocol ${JSON.stringify(p)} is not accepted: tcp or udp`,
    };
  return { port: n, protocol: p };
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
