// The Network kind as the network controllers read it (vmplane.io/v1alpha1 Network). Kept here,
// minimal, so the decisions do not depend on the generated types; the API package defines the
// kind itself.
import type { LabelSelector } from '../../../api/src/selectors.ts';

export interface NetworkIpam {
  externalDHCP?: Record<string, never>;
  staticPool?: {
    cidr: string;
    gateway?: string;
    ranges?: { start: string; end: string }[];
    nameservers?: string[];
    search?: string[];
  };
}

export interface NetworkSpec {
  /** Default L2. */
  type?: 'Pod' | 'L2';
  l2?: { nodeInterface?: string; bridge?: string; vlanID?: number };
  ipam?: NetworkIpam;
  namespaceSelector?: LabelSelector;
}

export interface NetworkLike {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; uid?: string; generation?: number };
  spec: NetworkSpec;
  status?: { namespaces?: string[] } & Record<string, unknown>;
}

export const NETWORK_API_VERSION = 'vmplane.io/v1alpha1';
export const NETWORKS_PATH = '/apis/vmplane.io/v1alpha1/networks';

/** L2 unless it says Pod. */
export const isL2 = (n: NetworkLike | undefined): boolean => !!n && n.spec.type !== 'Pod';

/** The Linux bridge of an L2 network: spec.l2.bridge, else vmp-<name> cut to 15 characters. */
export function bridgeOf(n: NetworkLike): string {
  return n.spec.l2?.bridge ?? `vmp-${n.metadata.name ?? ''}`.slice(0, 15);
}
