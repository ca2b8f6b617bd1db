// The guest agent in virt-handler's loop: the link made when a guest starts, and the readiness
// probe as kubelet would report it for the launcher pod. guestAgentPing is what virt-controller
// makes of it (KubeVirt v1.7.0 pkg/virt-controller/services/template.go,
// wrapGuestAgentPingWithVirtProbe): virt-probe sends guest-ping within timeoutSeconds, and the pod
// is ready once it answered; here the engine sends it on each look at the guest.
import type { EngineContext, KvVmi, Running } from './engine-context.ts';
import { AgentLink } from './agent-poller.ts';
import type { Readiness } from './instance-status.ts';
import type { Qmp } from './qemu.ts';
import { networkReadiness } from './probes/run.ts';

/** The readiness probe as kubelet would report it for the launcher pod. */
export function readinessOf(vmi: KvVmi, r: Running): Readiness {
  const p = vmi.spec.readinessProbe;
  if (!p) return { probe: 'none' };
  const kind = (['guestAgentPing', 'exec', 'tcpSocket', 'httpGet'] as const).find((k) => p[k]);
  if (!kind) return { probe: 'none' };
  // guestAgentPing: the last guest-ping (observe runs it); exec is not run through the agent yet.
  if (kind === 'guestAgentPing')
    return {
      probe: kind,
      succeeded: !!r.agentProbe?.ok,
      message: r.agentProbe?.message ?? 'the guest agent has not been pinged yet',
    };
  if (kind === 'exec')
    return {
      probe: kind,
      succeeded: false,
      message: 'the local engine does not run exec probes through the guest agent yet',
    };
  // tcpSocket and httpGet: the last state of the probe run through the node network (probes/).
  return (
    networkReadiness(vmi, r) ?? {
      probe: kind,
      succeeded: false,
      message: `the readiness probe has not run yet`,
    }
  );
}

/** The agent link of a guest just started: a change looks at its instance again. */
export const agentLink = (ctx: EngineContext, key: string, dir: string, qmp: Qmp): AgentLink =>
  new AgentLink(dir, qmp, () => ctx.manager.enqueue('local-engine', key), ctx.options.agentPoll);
