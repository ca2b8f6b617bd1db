import type { KindDefinition } from '../kind.ts';
import {
  atMostOneOf,
  byteQuantity,
  conditions,
  enumOf,
  int,
  marker,
  obj,
  objectName,
  observedGeneration,
  QUANTITY_WITH_UNIT,
  str,
} from '../schema.ts';
import { accessModes, imageRef, pvcSource, volumeMode } from './common.ts';

export const DISK_PHASES = ['Pending', 'Importing', 'Ready', 'Failed', 'Lost'] as const;

export const virtualMachineDisk: KindDefinition = {
  kind: 'VirtualMachineDisk',
  plural: 'virtualmachinedisks',
  singular: 'virtualmachinedisk',
  shortNames: ['vmdisk', 'vmdisks'],
  scope: 'Namespaced',
  description:
    'A VirtualMachineDisk is a persistent disk that lives on its own and is attached to a VM by name. Its storage class, access modes and volume mode are settled at admission from the StorageProfile of the storage class, so the claim behind it can always be provisioned.',
  spec: obj(
    'The size, storage and contents of the disk.',
    {
      size: byteQuantity(
        'The capacity of the disk, with a unit: 20Gi. It can grow but never shrink.',
        { min: '1Mi' },
      ),
      storageClassName: objectName(
        "The StorageClass to provision the disk from. When omitted, the admission webhook picks the class annotated storageclass.kubevirt.io/is-default-virt-class=true, else the cluster's default StorageClass. Cannot change once set.",
      ),
      accessModes: accessModes(
        'How nodes may attach the disk. When omitted, taken from the StorageProfile of the storage class (ReadWriteMany is needed for live migration).',
      ),
      volumeMode: volumeMode(
        'Block or Filesystem. When omitted, taken from the StorageProfile of the storage class.',
      ),
      source: obj(
        'What the disk initially contains. Omitted: an empty (blank) disk. At most one source.',
        {
          blank: marker('An empty disk.'),
          image: imageRef('Fill the disk from an image of the library.'),
          pvc: pvcSource(
            'Clone an existing PersistentVolumeClaim.',
            "The namespace of the claim; defaults to the disk's own namespace.",
          ),
          disk: obj(
            "Clone another VirtualMachineDisk of the same namespace: the new disk starts with the other disk's bytes (CDI clones its claim once it is Ready). The source must exist and be no bigger than spec.size.",
            {
              name: objectName(
                'The name of the VirtualMachineDisk to clone, in the same namespace.',
              ),
            },
            { required: ['name'] },
          ),
        },
        { 'x-kubernetes-validations': [atMostOneOf(['blank', 'image', 'pvc', 'disk'])] },
      ),
    },
    {
      required: ['size'],
      'x-kubernetes-validations': [
        {
          rule: '!has(oldSelf.storageClassName) || (has(self.storageClassName) && self.storageClassName == oldSelf.storageClassName)',
          message:
            'is immutable once set: create a new disk and copy the data to move storage classes',
          fieldPath: '.storageClassName',
        },
        {
          rule: '!has(oldSelf.source) || (has(self.source) && self.source == oldSelf.source)',
          message: 'is immutable: the contents of an existing disk cannot be re-imported',
          fieldPath: '.source',
        },
        {
          rule: '!has(oldSelf.volumeMode) || (has(self.volumeMode) && self.volumeMode == oldSelf.volumeMode)',
          message: 'is immutable once set: create a new disk to change it',
          fieldPath: '.volumeMode',
        },
        {
          rule: `!self.size.matches(r'${QUANTITY_WITH_UNIT}') || !oldSelf.size.matches(r'${QUANTITY_WITH_UNIT}') || quantity(self.size).compareTo(quantity(oldSelf.size)) >= 0`,
          messageExpression:
            "'cannot shrink from ' + oldSelf.size + ' to ' + self.size + ': disks can only grow'",
          fieldPath: '.size',
        },
      ],
    },
  ),
  status: obj('The state of the disk and the claim behind it.', {
    observedGeneration: observedGeneration(),
    phase: enumOf(
      "Pending (waiting for storage, or for the disk it clones to be Ready), Importing (CDI is filling it: ImportScheduled, ImportInProgress, CloneInProgress...), Ready (the DataVolume Succeeded, or the claim is bound), Failed (the DataVolume failed, or its importer stopped on an error, with CDI's reason and message in the Ready condition; or another object holds the name), or Lost (the claim was deleted outside vmplane after the disk was ready; vmplane does not recreate it empty).",
      DISK_PHASES,
    ),
    progress: str(
      "Import or clone progress as CDI's DataVolume reports it (status.progress, counted from the bytes read), for example 42.5%, while Importing.",
      { maxLength: 16 },
    ),
    capacity: str('The capacity the storage actually provisioned.', { maxLength: 32 }),
    claimName: str('The PersistentVolumeClaim (or DataVolume) that holds the data.', {
      maxLength: 253,
    }),
    attachedTo: str('The VirtualMachine the disk is attached to, if any.', { maxLength: 253 }),
    conditions: conditions('Conditions such as Ready, with reasons.'),
    restarts: int(
      "How many times CDI's importer restarted (the DataVolume's status.restartCount).",
      {
        minimum: 0,
      },
    ),
  }),
  printerColumns: [
    { name: 'SIZE', type: 'string', jsonPath: '.spec.size', description: 'Requested capacity.' },
    {
      name: 'STORAGECLASS',
      type: 'string',
      jsonPath: '.spec.storageClassName',
      description: 'Storage class.',
    },
    {
      name: 'PHASE',
      type: 'string',
      jsonPath: '.status.phase',
      description: 'Pending, Importing, Ready or Failed.',
    },
    {
      name: 'PROGRESS',
      type: 'string',
      jsonPath: '.status.progress',
      description: 'Import progress.',
    },
    {
      name: 'VM',
      type: 'string',
      jsonPath: '.status.attachedTo',
      description: 'The VM using the disk.',
    },
    {
      name: 'MODE',
      type: 'string',
      jsonPath: '.spec.volumeMode',
      description: 'Volume mode.',
      priority: 1,
    },
    {
      name: 'AGE',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
};
