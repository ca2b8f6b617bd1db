// NetworkAttachmentDefinition (k8s.cni.cncf.io/v1): the Network Plumbing Working Group's kind
// that Multus reads to plug pods (and so KubeVirt's launcher pods) into more networks. vmplane
// writes one per L2 Network in each namespace whose VMs use it, and installs this CRD when the
// cluster lacks it (a cluster with Multus has its own: Helm leaves an existing CRD alone). The
// schema matches Multus's: one string field, the CNI configuration.
import type { KindDefinition } from '../kind.ts';
import { obj, str } from '../schema.ts';

export const networkAttachmentDefinition: KindDefinition = {
  kind: 'NetworkAttachmentDefinition',
  plural: 'network-attachment-definitions',
  singular: 'network-attachment-definition',
  shortNames: ['net-attach-def'],
  scope: 'Namespaced',
  group: 'k8s.cni.cncf.io',
  version: 'v1',
  categories: ['vmplane'],
  description:
    "A NetworkAttachmentDefinition (Network Plumbing Working Group) names a CNI configuration that Multus uses to attach pods to an extra network. vmplane writes one for each L2 Network in the namespaces whose VMs use it (label app.kubernetes.io/managed-by=vmplane, annotation vmplane.io/network) and removes it when no VM there uses the network; others' definitions are left alone.",
  rootFields: {
    spec: obj('The attachment: a CNI configuration.', {
      config: str(
        'The CNI configuration as JSON, for example {"cniVersion":"0.3.1","name":"vlan-42","type":"bridge","bridge":"br42","vlan":42,"ipam":{}}.',
        { maxLength: 65536 },
      ),
    }),
  },
  printerColumns: [
    {
      name: 'AGE',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
};
