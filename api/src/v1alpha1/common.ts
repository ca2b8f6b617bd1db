// Field shapes shared by several kinds.
import { arr, enumOf, obj, objectName, str, type Schema } from '../schema.ts';

export const ACCESS_MODES = [
  'ReadWriteOnce',
  'ReadOnlyMany',
  'ReadWriteMany',
  'ReadWriteOncePod',
] as const;
export const VOLUME_MODES = ['Block', 'Filesystem'] as const;
export const IMAGE_KINDS = ['VirtualMachineImage', 'ClusterVirtualMachineImage'] as const;

export function accessModes(description: string): Schema {
  return arr(description, enumOf('One access mode.', ACCESS_MODES), {
    minItems: 1,
    maxItems: 4,
    'x-kubernetes-list-type': 'set',
  });
}

export function volumeMode(description: string): Schema {
  return enumOf(description, VOLUME_MODES);
}

export function claimPropertySets(description: string): Schema {
  return arr(
    description,
    obj(
      'One combination of access modes and volume mode that the storage supports.',
      {
        accessModes: accessModes(
          'The access modes a claim of this kind uses, for example [ReadWriteMany].',
        ),
        volumeMode: volumeMode(
          'Block (a raw device, fastest for VMs) or Filesystem (a disk image file on a mounted filesystem).',
        ),
      },
      { required: ['accessModes', 'volumeMode'] },
    ),
    { maxItems: 16, 'x-kubernetes-list-type': 'atomic' },
  );
}

export function imageRef(description: string): Schema {
  return obj(
    description,
    {
      kind: enumOf(
        "VirtualMachineImage (in the VM's namespace) or ClusterVirtualMachineImage (shared by all namespaces). When omitted, the admission webhook looks in the namespace first, then the cluster library, and records what it found.",
        IMAGE_KINDS,
      ),
      name: objectName('The name of the image.'),
    },
    { required: ['name'] },
  );
}

export function httpSource(description: string): Schema {
  return obj(
    description,
    {
      url: str(
        'The http:// or https:// address of a disk image (qcow2, raw or iso, optionally gz or xz compressed).',
        {
          maxLength: 2048,
          'x-kubernetes-validations': [
            {
              rule: "self.startsWith('http://') || self.startsWith('https://')",
              messageExpression: `'"' + self + '" is not an http or https URL'`,
            },
          ],
        },
      ),
      secretRef: objectName(
        'Optional Secret (keys accessKeyId and secretKey) with credentials for the server.',
      ),
    },
    { required: ['url'] },
  );
}

export function registrySource(description: string): Schema {
  return obj(
    description,
    {
      url: str(
        'A container image holding the disk under /disk, written docker://REGISTRY/REPOSITORY:TAG.',
        {
          maxLength: 2048,
          'x-kubernetes-validations': [
            {
              rule: "self.startsWith('docker://') || self.startsWith('oci-archive://')",
              messageExpression: `'"' + self + '" must start with docker:// (or oci-archive://), for example docker://quay.io/containerdisks/fedora:40'`,
            },
          ],
        },
      ),
    },
    { required: ['url'] },
  );
}

export function pvcSource(description: string, namespaceDescription: string): Schema {
  return obj(
    description,
    {
      name: objectName('The name of the PersistentVolumeClaim.'),
      namespace: objectName(namespaceDescription),
    },
    { required: ['name'] },
  );
}
