// TCP and HTTP readiness probes as the kubelet runs them for the virt-launcher pod (KubeVirt copies
// the VMI's readinessProbe to the compute container, pkg/virt-controller/services/rendercontainer.go,
// with KubeVirt's defaults: timeoutSeconds 1, periodSeconds 10, successThreshold 1,
// failureThreshold 3; staging/src/kubevirt.io/api/core/v1/defaults.go SetDefaults_Probe). The pod
// starts unready; successThreshold successes in a row make it ready, failureThreshold failures in
// a row unready again. An HTTP probe succeeds on a status from 200 to 399 (kubelet's
// pkg/probe/http). Pure: when to probe, what to send, what an answer means, what follows.

export interface HttpGetAction {
  port: number | string;
  path?: string;
  host?: string;
  scheme?: string;
  httpHeaders?: { name: string; value: string }[];
}

export interface NetworkProbe {
  tcpSocket?: { port: number | string; host?: string };
  httpGet?: HttpGetAction;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface ProbeSettings {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** KubeVirt's defaults for what the probe leaves out (or sets below 1). */
export function probeSettings(p: NetworkProbe): ProbeSettings {
  const atLeast1 = (v: number | undefined, d: number): number => (v && v >= 1 ? v : d);
  return {
    initialDelayMs: Math.max(0, p.initialDelaySeconds ?? 0) * 1000,
    periodMs: atLeast1(p.periodSeconds, 10) * 1000,
    timeoutMs: atLeast1(p.timeoutSeconds, 1) * 1000,
    successThreshold: atLeast1(p.successThreshold, 1),
    failureThreshold: atLeast1(p.failureThreshold, 3),
  };
}

export interface ProbeState {
  ready: boolean;
  /** Results in a row of the same kind. */
  successes: number;
  failures: number;
  lastRunAt?: number;
  message: string;
}

export const INITIAL_PROBE_STATE: ProbeState = {
  ready: false,
  successes: 0,
  failures: 0,
  message: 'the readiness probe has not run yet',
};

/** Whether the probe runs now: after the initial delay, then once a period. */
export function probeDue(
  s: ProbeState,
  settings: ProbeSettings,
  startedAt: number,
  now: number,
): boolean {
  if (now < startedAt + settings.initialDelayMs) return false;
  return s.lastRunAt === undefined || now - s.lastRunAt >= settings.periodMs;
}

/** The state after one result. */
export function afterProbe(
  s: ProbeState,
  result: { ok: boolean; message: string },
  settings: ProbeSettings,
  now: number,
): ProbeState {
  const successes = result.ok ? s.successes + 1 : 0;
  const failures = result.ok ? 0 : s.failures + 1;
  const ready =
    result.ok && successes >= settings.successThreshold
      ? true
      : !result.ok && failures >= settings.failureThreshold
        ? false
        : s.ready;
  return { ready, successes, failures, lastRunAt: now, message: result.message };
}

/** The port a probe names: a number, or a port the VM's interfaces declare by that name. */
export function probePort(
  port: number | string,
  declared: readonly { name?: string; port: number }[],
): number | { error: string } {
  if (typeof port === 'number' || /^\d+$/.test(port)) {
    const n = Number(port);
    return n >= 1 && n <= 65535
      ? n
      : { error: `port ${port} is not a port number from 1 to 65535` };
  }
  const found = declared.find((p) => p.name === port)?.port;
  return found ?? { error: `port ${JSON.stringify(port)} is not a port the VM's interfaces name` };
}

/** The request kubelet's HTTP prober sends (HTTP/1.1, closed after the answer). */
export function httpProbeRequest(g: HttpGetAction, port: number, kubeVersion = '1.35'): string {
  const headers = new Map<string, string>([
    ['Host', `${g.host ?? 'localhost'}:${port}`],
    ['User-Agent', `kube-probe/${kubeVersion}`],
    ['Accept', '*/*'],
  ]);
  for (const h of g.httpHeaders ?? []) headers.set(h.name, h.value);
  headers.set('Connection', 'close');
  const path = g.path ? (g.path.startsWith('/') ? g.path : `/${g.path}`) : '/';
  return [`GET ${path} HTTP/1.1`, ...[...headers].map(([k, v]) => `${k}: ${v}`), '', ''].join(
    '\r\n',
  );
}

/** What the answer's status line means. */
export function httpProbeVerdict(head: string): { ok: boolean; message: string } {
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(head);
  if (!m) return { ok: false, message: `HTTP probe failed: no HTTP status line in the answer` };
  const code = Number(m[1]);
  return code >= 200 && code < 400
    ? { ok: true, message: `HTTP probe succeeded with statuscode: ${code}` }
    : { ok: false, message: `HTTP probe failed with statuscode: ${code}` };
}
