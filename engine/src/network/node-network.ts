// The contract between the engine's node network (the namespace its VMs live in: bridges, taps,
// pod namespaces, DHCP) and what runs on top of it (kube-proxy's part: services; NetworkPolicy;
// port-forward and probes). Types only: the namespace implementation lives beside it.
import type { Duplex } from 'node:stream';

/** A launcher pod's own network namespace inside the node's. */
export interface PodNetworkRef {
  namespace: string;
  name: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface NodeNetwork {
  /**
   * `namespace`: a network namespace of the engine's own (user namespaces), with a bridge per
   * network, a tap per interface and real DHCP. `user-mode`: the fallback where user namespaces are
   * refused: QEMU's user-mode network, one VM alone, reachable only through forwarded loopback ports.
   */
  readonly mode: 'namespace' | 'user-mode';
  /** The node's address inside the namespace (NodePort services listen there). */
  readonly nodeIP: string;
  /** The node's pod range (spec.podCIDR of the engine's Node), for example 10.244.0.0/24. */
  readonly podCIDR: string;
  /** Runs a command inside the node namespace, or inside one pod's namespace. Never throws on exit codes. */
  exec(argv: readonly string[], o?: { input?: string; pod?: PodNetworkRef }): Promise<ExecResult>;
  /** Loads an nftables ruleset (`nft -f -`) in the node namespace; rejects with nft's message. */
  nft(ruleset: string): Promise<void>;
  /** A TCP connection opened from the node namespace (where every pod and L2 address is routed). */
  connect(ip: string, port: number): Promise<Duplex>;
  /**
   * A TCP connection to a port of a running VMI's guest, as KubeVirt's port-forward reaches it: its
   * pod address (masquerade forwards it to the guest), else its first interface's address; in
   * user-mode, a loopback port QEMU forwards. Rejects naming the VMI when it is not running.
   */
  connectGuest(vmi: { namespace: string; name: string }, port: number): Promise<Duplex>;
}
