import type { KindDefinition } from '../kind.ts';
import {
  byteQuantity,
  conditions,
  enumOf,
  exactlyOneOf,
  immutable,
  obj,
  observedGeneration,
  str,
  type Schema,
} from '../schema.ts';
import { httpSource, pvcSource, registrySource } from './common.ts';

export const OS_TYPES = ['Linux', 'Windows', 'Other'] as const;

function imageSpec(scope: 'Namespaced' | 'Cluster'): Schema {
  const pvcNamespace =
    scope === 'Cluster'
      ? 'The namespace of the claim. Required for a cluster image.'
      : "The namespace of the claim; defaults to the image's own namespace.";
  const sourceRules = [
    exactlyOneOf(['http', 'registry', 'pvc']),
    immutable('delete and re-create the image to change where it comes from'),
  ];
  if (scope === 'Cluster') {
    sourceRules.push({
      rule: '!has(self.pvc) || has(self.pvc.namespace)',
      message: 'namespace is required for a ClusterVirtualMachineImage',
      fieldPath: '.pvc',
    });
  }
  return obj(
    'Where the image comes from and what is inside it.',
    {
      description: str('A sentence for users picking an image.', { maxLength: 512 }),
      source: obj(
        'Where the disk image is fetched from. Exactly one source.',
        {
          http: httpSource('Download the image over HTTP(S).'),
          registry: registrySource(
            'Pull the image from a container registry (a containerDisk image).',
          ),
          pvc: pvcSource(
            'Clone an existing PersistentVolumeClaim that holds the disk.',
            pvcNamespace,
          ),
        },
        { 'x-kubernetes-validations': sourceRules },
      ),
      osInfo: obj('The operating system inside the image, for display and for policies.', {
        type: enumOf('The operating system family.', OS_TYPES),
        name: str('The distribution or product, for example ubuntu, rhel, windows-server.', {
          maxLength: 63,
        }),
        version: str('The release, for example 24.04 or 2022.', { maxLength: 63 }),
      }),
      size: byteQuantity(
        'The virtual size of the disk in the image. Boot disks made from the image are at least this large. Example: 10Gi.',
        { min: '1Mi' },
      ),
    },
    { required: ['source'] },
  );
}

function imageStatus(): Schema {
  return obj('What the controllers observed about this image.', {
    observedGeneration: observedGeneration(),
    conditions: conditions('Conditions of the image, such as Ready.'),
  });
}

const columns: KindDefinition['printerColumns'] = [
  { name: 'OS', type: 'string', jsonPath: '.spec.osInfo.name', description: 'Operating system.' },
  {
    name: 'VERSION',
    type: 'string',
    jsonPath: '.spec.osInfo.version',
    description: 'Operating system release.',
  },
  { name: 'SIZE', type: 'string', jsonPath: '.spec.size', description: 'Virtual disk size.' },
  {
    name: 'URL',
    type: 'string',
    jsonPath: '.spec.source.http.url',
    description: 'HTTP source, if any.',
    priority: 1,
  },
  {
    name: 'AGE',
    type: 'date',
    jsonPath: '.metadata.creationTimestamp',
    description: 'Time since creation.',
  },
];

export const virtualMachineImage: KindDefinition = {
  kind: 'VirtualMachineImage',
  plural: 'virtualmachineimages',
  singular: 'virtualmachineimage',
  shortNames: ['vmimage', 'vmimages'],
  scope: 'Namespaced',
  description:
    'A VirtualMachineImage is a bootable disk image offered to the VMs of one namespace. VMs reference it in spec.image; the boot disk is made from it.',
  spec: imageSpec('Namespaced'),
  status: imageStatus(),
  printerColumns: columns,
};

export const clusterVirtualMachineImage: KindDefinition = {
  kind: 'ClusterVirtualMachineImage',
  plural: 'clustervirtualmachineimages',
  singular: 'clustervirtualmachineimage',
  shortNames: ['cvmimage', 'cvmimages'],
  scope: 'Cluster',
  description:
    'A ClusterVirtualMachineImage is a bootable disk image in the cluster-wide library, usable from every namespace. VMs reference it in spec.image with kind ClusterVirtualMachineImage.',
  spec: imageSpec('Cluster'),
  status: imageStatus(),
  printerColumns: columns,
};
