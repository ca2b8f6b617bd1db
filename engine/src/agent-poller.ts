// The guest agent of one running guest, heard as virt-launcher hears it: the channel's state from
// QEMU (QMP's VSERPORT_CHANGE for the agent's port, the event libvirt turns into the channel's
// `connected` state and its agent lifecycle events), and a poller that asks the agent, while the
// channel is open and the guest runs, what virt-launcher's poller asks, each set of commands on
// its own interval: the first round at once, the next after 10 s, doubling up to the set's own
// interval (KubeVirt v1.7.0 pkg/virt-launcher/virtwrap/agent-poller/agent_poller.go, intervals
// from cmd/virt-launcher/virt-launcher.go: sys 120 s, users 10 s, filesystems and version 300 s).
// Whatever the agent said is forgotten as soon as the channel closes.
import { AGENT_PORT_ID, agentSocket, type Qmp } from './qemu.ts';
import { AgentCommandError, GuestAgent, type GuestAgentOptions } from './guest-agent.ts';
import {
  agentVersionOf,
  filesystemsOf,
  interfacesOf,
  osInfoOf,
  unsupportedReason,
  usersOf,
  type AgentFacts,
} from './guest-agent-status.ts';
import type { AgentObservation } from './instance-status.ts';

export interface PollIntervals {
  /** The first wait after the first round (virt-launcher's pollInitialInterval). */
  initialMs: number;
  /** OS info, host name, timezone, interfaces (--qemu-agent-sys-interval). */
  sysMs: number;
  /** Filesystems (--qemu-agent-file-interval). */
  fileMs: number;
  /** Users (--qemu-agent-user-interval). */
  userMs: number;
  /** The agent's version and commands (--qemu-agent-version-interval). */
  versionMs: number;
}

export const POLL_INTERVALS: Readonly<PollIntervals> = Object.freeze({
  initialMs: 10_000,
  sysMs: 120_000,
  fileMs: 300_000,
  userMs: 10_000,
  versionMs: 300_000,
});

/** virt-launcher's workers: which commands, on which interval. */
export const POLL_WORKERS: readonly { commands: string[]; every: keyof PollIntervals }[] = [
  { commands: ['guest-info'], every: 'versionMs' },
  { commands: ['guest-get-fsinfo'], every: 'fileMs' },
  {
    commands: [
      'guest-network-get-interfaces',
      'guest-get-osinfo',
      'guest-get-host-name',
      'guest-get-timezone',
    ],
    every: 'sysMs',
  },
  { commands: ['guest-get-users'], every: 'userMs' },
];

/** The wait after `current`: doubled, up to the worker's own interval (incrementPollInterval). */
export const nextInterval = (current: number, max: number): number => Math.min(current * 2, max);

/** The facts with one answer stored (pure). */
export function withAnswer(facts: AgentFacts, command: string, answer: unknown): AgentFacts {
  const r = answer as Record<string, unknown> | undefined;
  switch (command) {
    case 'guest-info':
      return { ...facts, agent: agentVersionOf(answer) };
    case 'guest-get-fsinfo':
      return { ...facts, filesystems: filesystemsOf(answer) };
    case 'guest-network-get-interfaces':
      return { ...facts, interfaces: interfacesOf(answer) };
    case 'guest-get-osinfo':
      return { ...facts, os: osInfoOf(answer) };
    case 'guest-get-host-name':
      return { ...facts, hostname: typeof r?.['host-name'] === 'string' ? r['host-name'] : '' };
    case 'guest-get-timezone':
      return {
        ...facts,
        timezone: {
          zone: typeof r?.['zone'] === 'string' ? r['zone'] : '',
          offset: typeof r?.['offset'] === 'number' ? r['offset'] : 0,
        },
      };
    case 'guest-get-users':
      return { ...facts, users: usersOf(answer) };
    default:
      return facts;
  }
}

export interface AgentLinkOptions {
  intervals?: Partial<PollIntervals>;
  agent?: GuestAgentOptions;
}

/**
 * The agent of one guest: the channel's state from QMP events, the poller, what the agent said.
 * `changed` is called whenever the connection or the facts change (virt-launcher's AgentUpdated).
 */
export class AgentLink {
  /** The guest has the agent's port open (VSERPORT_CHANGE open: true). */
  channelOpen = false;
  /** The agent answered the last command sent to it. */
  answered = false;
  facts: AgentFacts = {};
  private paused = false;
  private timers = new Set<NodeJS.Timeout>();
  private readonly agent: GuestAgent;
  private readonly unsubscribe: () => void;
  private readonly intervals: PollIntervals;

  constructor(
    dir: string,
    qmp: Qmp,
    private readonly changed: () => void,
    options: AgentLinkOptions = {},
  ) {
    this.agent = new GuestAgent(agentSocket(dir), options.agent);
    this.intervals = { ...POLL_INTERVALS, ...options.intervals };
    this.unsubscribe = qmp.onEvent((e) => {
      const d = e.data as { id?: string; open?: boolean } | undefined;
      if (e.event === 'VSERPORT_CHANGE' && d?.id === AGENT_PORT_ID) this.channel(!!d.open);
    });
  }

  /** Whether KubeVirt would call the agent connected: its channel is open and it answers. */
  get connected(): boolean {
    return this.channelOpen && this.answered;
  }

  private channel(open: boolean): void {
    if (open === this.channelOpen) return;
    this.channelOpen = open;
    this.stopPolling();
    // libvirt closes its agent connection when the guest closes the port and opens a new one
    // when it opens it again: nothing written meanwhile waits in the socket for the next agent.
    this.agent.close();
    if (open) this.startPolling();
    else {
      this.answered = false;
      this.facts = {};
    }
    this.changed();
  }

  /** A paused guest is not polled (virt-launcher stops its poller on suspend). */
  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    this.stopPolling();
    if (!paused && this.channelOpen) this.startPolling();
  }

  private startPolling(): void {
    if (this.paused) return;
    for (const w of POLL_WORKERS) {
      const max = this.intervals[w.every];
      const round = (wait: number): void => {
        void this.ask(w.commands).then(() => {
          if (!this.channelOpen || this.paused) return;
          const t = setTimeout(() => {
            this.timers.delete(t);
            round(nextInterval(wait, max));
          }, wait);
          t.unref();
          this.timers.add(t);
        });
      };
      round(Math.min(this.intervals.initialMs, max));
    }
  }

  private stopPolling(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Runs the commands and stores their answers; a command the agent refuses is skipped. */
  private async ask(commands: string[]): Promise<void> {
    for (const c of commands) {
      if (!this.channelOpen) return;
      const before = JSON.stringify([this.answered, this.facts]);
      try {
        const answer = await this.agent.execute(c);
        if (!this.channelOpen) return;
        this.answered = true;
        this.facts = withAnswer(this.facts, c, answer);
      } catch (e) {
        // The agent answered with an error: it is there. No answer at all: it is not heard.
        if (e instanceof AgentCommandError) this.answered = true;
        else this.answered = false;
      }
      if (JSON.stringify([this.answered, this.facts]) !== before) this.changed();
    }
  }

  /** The guestAgentPing probe: guest-ping answered within the time given. */
  async ping(timeoutMs: number): Promise<{ ok: boolean; message: string }> {
    if (!this.channelOpen)
      return { ok: false, message: 'the guest agent channel is not connected' };
    try {
      await this.agent.execute('guest-ping', undefined, timeoutMs);
      return { ok: true, message: 'guest-ping answered' };
    } catch (e) {
      return { ok: false, message: `guest-ping failed: ${(e as Error).message}` };
    }
  }

  stop(): void {
    this.unsubscribe();
    this.stopPolling();
    this.channelOpen = false;
    this.agent.close(true);
  }
}

/** What the instance's status says of the agent (instance-status.ts), from the link. */
export function agentObservation(link: AgentLink | undefined): AgentObservation | undefined {
  if (!link) return undefined;
  if (!link.connected) return { connected: false };
  const unsupported = unsupportedReason(link.facts.agent);
  return {
    connected: true,
    ...(unsupported ? { unsupported } : {}),
    ...(link.facts.os ? { os: link.facts.os } : {}),
    ...(link.facts.interfaces ? { interfaces: link.facts.interfaces } : {}),
  };
}

/** A probe's timeout as kubelet reads it (timeoutSeconds, 1 s when unset). */
export const probeTimeoutMs = (probe: object): number =>
  Math.max(1, (probe as { timeoutSeconds?: number }).timeoutSeconds ?? 1) * 1000;
