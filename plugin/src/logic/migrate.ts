// A live migration from the plugin: the request (KubeVirt's `migrate` subresource, as `kubectl vm
// migrate` sends it, the target node as an added node selector) and what the instance's
// migrationState says of the last one, in a line for the details page.
import type { ActionRequest } from './requests';

export const ANY_NODE = '';

export function migrateRequest(namespace: string, name: string, toNode: string): ActionRequest {
  return {
    method: 'PUT',
    path: `/apis/subresources.kubevirt.io/v1/namespaces/${encodeURIComponent(
      namespace
    )}/virtualmachines/${encodeURIComponent(name)}/migrate`,
    body: {
      kind: 'MigrateOptions',
      apiVersion: 'kubevirt.io/v1',
      ...(toNode ? { addedNodeSelector: { 'kubernetes.io/hostname': toNode } } : {}),
    },
    contentType: 'application/json',
    access: {
      group: 'subresources.kubevirt.io',
      resource: 'virtualmachines',
      subresource: 'migrate',
      verb: 'update',
      namespace,
      name,
    },
  };
}

export interface MigrationState {
  sourceNode?: string;
  targetNode?: string;
  startTimestamp?: string;
  endTimestamp?: string;
  completed?: boolean;
  failed?: boolean;
  failureReason?: string;
  abortStatus?: string;
}

/** The nodes a VM may be sent to: every node but the one it runs on (pure). */
export function targetNodes(nodes: readonly string[], current: string | undefined): string[] {
  return nodes.filter(n => n !== current).sort();
}

/** The instance's migration in one line, or undefined when it never migrated (pure). */
export function migrationLine(s: MigrationState | undefined): string | undefined {
  if (!s?.sourceNode) return undefined;
  const route = `${s.sourceNode} → ${s.targetNode ?? '?'}`;
  if (s.completed) {
    const took =
      s.startTimestamp && s.endTimestamp
        ? ` in ${Math.max(0, (Date.parse(s.endTimestamp) - Date.parse(s.startTimestamp)) / 1000)} s`
        : '';
    return `Migrated ${route}${took}`;
  }
  if (s.failed)
    return s.abortStatus === 'Succeeded'
      ? `Migration ${route} cancelled`
      : `Migration ${route} failed: ${s.failureReason ?? 'no reason given'}`;
  return `Migrating ${route}`;
}
