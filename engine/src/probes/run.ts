// Runs a VMI's TCP or HTTP readiness probe through the node network (NodeNetwork.connectGuest:
// the guest's port as the kubelet reaches it at the launcher pod's address), and keeps each
// running guest's probe state between looks (the kubelet's prober worker). virt-handler calls
// probeGuest on each look at a running guest and reads networkReadiness for its Ready condition.
import type { Duplex } from 'node:stream';
import type { NodeNetwork } from '../network/node-network.ts';
import type { Readiness } from '../instance-status.ts';
import {
  afterProbe,
  httpProbeRequest,
  httpProbeVerdict,
  INITIAL_PROBE_STATE,
  probeDue,
  probePort,
  probeSettings,
  type NetworkProbe,
  type ProbeState,
} from './readiness.ts';

export interface ProbedVmi {
  metadata?: { namespace?: string; name?: string };
  spec: {
    /** KubeVirt's Probe; only tcpSocket and httpGet are run here. */
    readinessProbe?: object;
    /** The VM's interfaces may name ports (spec.domain.devices.interfaces[].ports). */
    domain?: object;
  };
}

type Port = { name?: string; port: number };

/** Rejects after ms, naming what timed out. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timeout after ${ms / 1000}s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The first line of the answer (or what came before the connection ended). */
function statusLine(conn: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    conn.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      if (got.includes('\r\n')) resolve(got.slice(0, got.indexOf('\r\n')));
    });
    conn.on('end', () => resolve(got));
    conn.on('error', reject);
  });
}

/** One run of the probe: its result and kubelet-like words for it. */
export async function runNetworkProbe(
  network: NodeNetwork,
  vmi: ProbedVmi,
  timeoutMs: number,
): Promise<{ ok: boolean; message: string }> {
  const p: NetworkProbe = vmi.spec.readinessProbe ?? {};
  const action = p.httpGet ?? p.tcpSocket;
  if (!action) return { ok: false, message: 'the probe is neither tcpSocket nor httpGet' };
  const domain = vmi.spec.domain as { devices?: { interfaces?: { ports?: Port[] }[] } } | undefined;
  const declared = (domain?.devices?.interfaces ?? []).flatMap((i) => i.ports ?? []);
  const port = probePort(action.port, declared);
  if (typeof port !== 'number') return { ok: false, message: `readinessProbe: ${port.error}` };
  const at = { namespace: vmi.metadata?.namespace ?? '', name: vmi.metadata?.name ?? '' };
  let conn: Duplex | undefined;
  let over = false;
  try {
    return await within(
      timeoutMs,
      p.httpGet ? 'HTTP probe failed' : 'TCP probe failed',
      (async () => {
        conn = await network.connectGuest(at, port);
        // A connection that comes after the timeout is closed at once, not left open.
        if (over) {
          conn.destroy();
          return { ok: false, message: 'the connection came after the timeout' };
        }
        if (!p.httpGet) return { ok: true, message: `TCP probe succeeded on port ${port}` };
        const line = statusLine(conn);
        conn.write(httpProbeRequest(p.httpGet, port));
        return httpProbeVerdict(await line);
      })(),
    );
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  } finally {
    over = true;
    conn?.destroy();
  }
}

/** Each running guest's probe state, by the engine's record of the running guest. */
const states = new WeakMap<object, ProbeState>();

const probeOf = (vmi: ProbedVmi): NetworkProbe | undefined => vmi.spec.readinessProbe;
const kindOf = (vmi: ProbedVmi): 'tcpSocket' | 'httpGet' | undefined =>
  probeOf(vmi)?.httpGet ? 'httpGet' : probeOf(vmi)?.tcpSocket ? 'tcpSocket' : undefined;

/** Runs the probe when it is due (after the initial delay, once a period); the new state. */
export async function probeGuest(
  network: NodeNetwork,
  vmi: ProbedVmi,
  guest: object,
  startedAt: number,
  now = Date.now(),
): Promise<ProbeState | undefined> {
  const p = probeOf(vmi);
  if (!p || !kindOf(vmi)) return undefined;
  const settings = probeSettings(p);
  const s = states.get(guest) ?? INITIAL_PROBE_STATE;
  if (!probeDue(s, settings, startedAt, now)) return s;
  const next = afterProbe(
    s,
    await runNetworkProbe(network, vmi, settings.timeoutMs),
    settings,
    now,
  );
  states.set(guest, next);
  return next;
}

/** The probe as the kubelet would report it for the launcher pod, from the last state. */
export function networkReadiness(vmi: ProbedVmi, guest: object): Readiness | undefined {
  const kind = kindOf(vmi);
  if (!kind) return undefined;
  const s = states.get(guest) ?? INITIAL_PROBE_STATE;
  return { probe: kind, succeeded: s.ready, message: s.message };
}
