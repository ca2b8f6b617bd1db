import type { KindDefinition } from '../kind.ts';
import {
  arr,
  byteQuantity,
  conditions,
  enumOf,
  int,
  labelSelector,
  obj,
  observedGeneration,
  str,
} from '../schema.ts';

export const RESERVATIONS = ['Guaranteed', 'BestEffort'] as const;
/** What happens to a running VM when its node is drained (KubeVirt's evictionStrategy). */
export const EVICTION_STRATEGIES = ['LiveMigrate', 'LiveMigrateIfPossible', 'None'] as const;
export const EVICTION_STRATEGY_DOC =
  "What happens to a running VM when its node is drained (kubectl vm evacuate, kubectl drain): LiveMigrate (it moves to another node while running; a VM that cannot live-migrate blocks the drain), LiveMigrateIfPossible (it moves when it can, otherwise it is stopped) or None (it is stopped). Omitted: the cluster's KubeVirt default.";

export const virtualMachineClass: KindDefinition = {
  kind: 'VirtualMachineClass',
  plural: 'virtualmachineclasses',
  singular: 'virtualmachineclass',
  shortNames: ['vmclass', 'vmclasses'],
  scope: 'Cluster',
  description:
    'A VirtualMachineClass is a size of virtual machine that administrators offer: how many vCPUs, how much memory, whether those are reserved, and which devices come with it. VMs name a class instead of listing resources; the class decides which namespaces may use it.',
  spec: obj(
    'The hardware this class gives a VM and who may use it.',
    {
      description: str(
        'A sentence for users choosing a class, shown in kubectl vm classes and the Headlamp wizard.',
        {
          maxLength: 512,
        },
      ),
      hardware: obj(
        'The virtual hardware of a VM of this class.',
        {
          cpus: int('Number of virtual CPUs, from 1 to 512.', { minimum: 1, maximum: 512 }),
          memory: byteQuantity('Guest memory, with a unit: 512Mi, 4Gi. At least 64Mi.', {
            min: '64Mi',
          }),
          devices: obj('Passthrough devices every VM of this class receives.', {
            gpus: arr(
              'GPUs (whole or virtual) attached to the VM.',
              obj(
                'One GPU model and how many of it.',
                {
                  name: str(
                    'A name for this device inside the VM specification, unique in the class.',
                    { maxLength: 63 },
                  ),
                  deviceName: str(
                    'The extended resource the node advertises for this GPU, for example nvidia.com/GA102GL_A10.',
                    {
                      maxLength: 253,
                    },
                  ),
                  count: int('How many of this GPU to attach, 1 to 16.', {
                    minimum: 1,
                    maximum: 16,
                    default: 1,
                  }),
                },
                { required: ['name', 'deviceName'] },
              ),
              {
                maxItems: 8,
                'x-kubernetes-list-type': 'map',
                'x-kubernetes-list-map-keys': ['name'],
              },
            ),
            hostDevices: arr(
              'Other PCI devices passed through to the VM.',
              obj(
                'One PCI device kind.',
                {
                  name: str(
                    'A name for this device inside the VM specification, unique in the class.',
                    { maxLength: 63 },
                  ),
                  deviceName: str(
                    'The extended resource the node advertises for this device, for example intel.com/qat.',
                    {
                      maxLength: 253,
                    },
                  ),
                },
                { required: ['name', 'deviceName'] },
              ),
              {
                maxItems: 8,
                'x-kubernetes-list-type': 'map',
                'x-kubernetes-list-map-keys': ['name'],
              },
            ),
          }),
        },
        { required: ['cpus', 'memory'] },
      ),
      reservation: enumOf(
        "Guaranteed: the VM's CPU and memory are reserved on the node (requests equal the hardware), so it is never squeezed by neighbours. BestEffort: nothing is reserved up front (requests are a fraction of the hardware set by the controller's overcommit ratio), so more VMs fit but they compete under load.",
        RESERVATIONS,
        { default: 'BestEffort' },
      ),
      evictionStrategy: enumOf(
        `${EVICTION_STRATEGY_DOC} A VM's own spec.evictionStrategy overrides it.`,
        EVICTION_STRATEGIES,
      ),
      namespaceSelector: labelSelector(
        'The namespaces whose VMs may use this class. Omitted or empty: every namespace. Example: matchLabels {vmplane.io/tier: production}.',
      ),
    },
    { required: ['hardware'] },
  ),
  status: obj('What the controllers observed about this class.', {
    observedGeneration: observedGeneration(),
    conditions: conditions('Conditions of the class, such as Ready.'),
  }),
  printerColumns: [
    {
      name: 'CPUS',
      type: 'integer',
      jsonPath: '.spec.hardware.cpus',
      description: 'Virtual CPUs.',
    },
    {
      name: 'MEMORY',
      type: 'string',
      jsonPath: '.spec.hardware.memory',
      description: 'Guest memory.',
    },
    {
      name: 'RESERVATION',
      type: 'string',
      jsonPath: '.spec.reservation',
      description: 'Guaranteed or BestEffort.',
    },
    {
      name: 'DESCRIPTION',
      type: 'string',
      jsonPath: '.spec.description',
      description: 'What the class is for.',
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
