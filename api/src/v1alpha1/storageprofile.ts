import type { KindDefinition } from '../kind.ts';
import { conditions, enumOf, obj, observedGeneration, str } from '../schema.ts';
import { claimPropertySets } from './common.ts';

export const CLONE_STRATEGIES = ['copy', 'snapshot', 'csi-clone'] as const;

export const storageProfile: KindDefinition = {
  kind: 'StorageProfile',
  plural: 'storageprofiles',
  singular: 'storageprofile',
  shortNames: ['vmsp'],
  scope: 'Cluster',
  description:
    'A StorageProfile says how VM disks should use one StorageClass (same name): which access modes and volume mode it supports, best first, and how disks are cloned. vmplane creates one per StorageClass and fills its status from what it knows of the provisioner; administrators set spec.claimPropertySets when the provisioner is not recognized.',
  spec: obj('Administrator overrides. Anything set here wins over what vmplane infers.', {
    claimPropertySets: claimPropertySets(
      'The access-mode and volume-mode combinations this storage supports, preferred first. Set this when status shows Recognized=False, for example [{accessModes: [ReadWriteMany], volumeMode: Block}].',
    ),
    cloneStrategy: enumOf(
      'How disks are cloned on this storage: copy (host-assisted), snapshot (VolumeSnapshot then restore) or csi-clone (the CSI driver clones).',
      CLONE_STRATEGIES,
    ),
  }),
  status: obj('What vmplane settled for this storage class.', {
    observedGeneration: observedGeneration(),
    storageClass: str('The StorageClass this profile describes.'),
    provisioner: str('The provisioner of that StorageClass.'),
    claimPropertySets: claimPropertySets(
      'The combinations in effect: spec.claimPropertySets when set, else what is known of the provisioner. Disks that omit access or volume mode get the first matching entry. Empty when nothing is known.',
    ),
    cloneStrategy: enumOf('The clone strategy in effect.', CLONE_STRATEGIES),
    conditions: conditions(
      'Recognized says whether the provisioner is known (or overridden); when False, the message says which field to set.',
    ),
  }),
  printerColumns: [
    {
      name: 'PROVISIONER',
      type: 'string',
      jsonPath: '.status.provisioner',
      description: 'Provisioner of the StorageClass.',
    },
    {
      name: 'RECOGNIZED',
      type: 'string',
      jsonPath: ".status.conditions[?(@.type=='Recognized')].status",
      description: 'Whether the access and volume modes are known.',
    },
    {
      name: 'CLONE',
      type: 'string',
      jsonPath: '.status.cloneStrategy',
      description: 'Clone strategy in effect.',
    },
    {
      name: 'AGE',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
};
