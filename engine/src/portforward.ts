// KubeVirt's portforward subresource as the local engine serves it: virt-api v1.7.0's checks
// (pkg/virt-api/rest/portforward.go, subresource.go FetchVirtualMachineInstance[ForVM]: the VMI,
// or the VM's VMI once the VM says it is created; a paused VMI is 409) and then a TCP connection to
// the guest's port through the node network (NodeNetwork.connectGuest), whose bytes a websocket
// carries both ways (binary messages, subprotocol plain.kubevirt.io), as virtctl port-forward and
// `virtctl ssh` expect.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { EngineError, vmiPath, vmPath, type EngineContext, type KvVmi } from './engine-context.ts';

import type { ForwardRequest } from './subresources.ts';

const conflict = (kind: string, name: string, text: string): EngineError =>
  new EngineError(409, `Operation cannot be fulfilled on ${kind}.kubevirt.io "${name}": ${text}`);

async function getOrNull<T>(ctx: EngineContext, path: string): Promise<T | undefined> {
  try {
    return (await ctx.manager.rest.request<T>('GET', path)).body;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

/** The instance to forward to, after virt-api's checks. */
async function target(
  ctx: EngineContext,
  ns: string,
  name: string,
  f: ForwardRequest,
): Promise<KvVmi> {
  if (f.resource === 'virtualmachines') {
    const vm = await getOrNull<{ status?: { created?: boolean } }>(ctx, vmPath(ns, name));
    if (!vm) throw new EngineError(404, `virtualmachine.kubevirt.io "${name}" not found`);
    if (!vm.status?.created) throw conflict('virtualmachine', name, 'VMI is not started');
  }
  const vmi = await getOrNull<KvVmi>(ctx, vmiPath(ns, name));
  if (!vmi) throw new EngineError(404, `virtualmachineinstance.kubevirt.io "${name}" not found`);
  if (vmi.status?.conditions?.some((c) => c.type === 'Paused' && c.status === 'True'))
    throw conflict('virtualmachineinstance', name, 'VMI is paused');
  return vmi;
}

/** The connection to the guest's port, or virt-api's refusal. */
export async function portForward(
  ctx: EngineContext,
  ns: string,
  name: string,
  f: ForwardRequest,
): Promise<Duplex> {
  const vmi = await target(ctx, ns, name, f);
  if (f.protocol !== 'tcp')
    throw new EngineError(
      400,
      `portforward: the local engine forwards tcp only, not ${f.protocol} (port ${f.port})`,
    );
  if (vmi.status?.phase !== 'Running') throw new EngineError(400, 'VMI is not running');
  try {
    return await ctx.network.connectGuest({ namespace: ns, name }, f.port);
  } catch (e) {
    throw new EngineError(500, `Internal error occurred: dialing VM: ${(e as Error).message}`);
  }
}

/** The connection's bytes as binary websocket messages, and back; either end closing ends both. */
export function bridgeForward(conn: Duplex, ws: WebSocket): void {
  conn.on('data', (b: Buffer) => ws.send(b));
  conn.on('end', () => ws.close(1000));
  conn.on('close', () => ws.close(1000));
  conn.on('error', () => ws.close(1011, 'the connection to the guest failed'));
  ws.on('message', (d: Buffer) => conn.write(d));
  ws.on('close', () => conn.destroy());
  conn.resume();
}
