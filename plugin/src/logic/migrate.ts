// A live migration from the plugin: the request (KubeVirt's `migrate` subresource, as `kubectl vm
// migrate` sends it, the target node as an added node selector) and the nodes it may go to.
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

/** The nodes a VM may be sent to: every node but the one it runs on (pure). */
export function targetNodes(nodes: readonly string[], current: string | undefined): string[] {
  return nodes.filter(n => n !== current).sort();
}
