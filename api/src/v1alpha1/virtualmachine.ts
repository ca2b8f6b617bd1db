import { guestOS } from './guest.ts';
import type { KindDefinition } from '../kind.ts';
import {
  arr,
  bool,
  byteQuantity,
  conditions,
  enumOf,
  exactlyOneOf,
  int,
  labelName,
  obj,
  objectName,
  observedGeneration,
  str,
} from '../schema.ts';
import { accessModes, imageRef, volumeMode } from './common.ts';
import { vmNetworkInterface as networkInterface } from './network.ts';
import { EVICTION_STRATEGIES, EVICTION_STRATEGY_DOC, RESERVATIONS } from './virtualmachineclass.ts';

/** A VM's name becomes a label value (vmplane.io/vm, kubevirt.io/domain) on its KubeVirt objects. */
export const MAX_VM_NAME = 63;
/** A Kubernetes label value (empty excluded): what a node's zone label can hold. */
export const LABEL_VALUE = '^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';

export const POWER_STATES = ['PoweredOn', 'PoweredOff', 'Suspended'] as const;
export const POWER_OFF_MODES = ['Hard', 'Soft', 'TrySoft'] as const;
export const VM_PHASES = [
  'Pending',
  'Provisioning',
  'Starting',
  'Running',
  'Paused',
  'Stopping',
  'Stopped',
  'Migrating',
  'Failed',
  'Unknown',
] as const;

const bootDisk = obj(
  'The boot disk made from spec.image. Storage fields left out are defaulted at admission from the StorageProfile, like any disk.',
  {
    size: byteQuantity(
      'Capacity of the boot disk; at least the image size. Defaults to the image size.',
      { min: '1Mi' },
    ),
    storageClassName: objectName(
      'The StorageClass of the boot disk. Defaulted at admission when omitted.',
    ),
    accessModes: accessModes(
      'Access modes of the boot disk. Defaulted from the StorageProfile when omitted.',
    ),
    volumeMode: volumeMode(
      'Volume mode of the boot disk. Defaulted from the StorageProfile when omitted.',
    ),
  },
);

const disk = obj(
  'A disk attached to the VM: either an existing VirtualMachineDisk (virtualMachineDiskName) or a new empty disk created with the VM and deleted with it (size).',
  {
    name: labelName(
      'The name of the disk inside the VM, unique among its disks (and different from "boot" and "cloudinit").',
    ),
    virtualMachineDiskName: objectName(
      "Attach this VirtualMachineDisk from the VM's namespace. It outlives the VM.",
    ),
    size: byteQuantity(
      'Create an empty disk of this size together with the VM, for example 50Gi.',
      { min: '1Mi' },
    ),
    storageClassName: objectName(
      'For a new disk (size): its StorageClass. Defaulted at admission when omitted.',
    ),
    accessModes: accessModes(
      'For a new disk (size): its access modes. Defaulted from the StorageProfile when omitted.',
    ),
    volumeMode: volumeMode(
      'For a new disk (size): its volume mode. Defaulted from the StorageProfile when omitted.',
    ),
    boot: bool('Boot from this disk. At most one disk boots, and not together with spec.image.'),
  },
  {
    required: ['name'],
    'x-kubernetes-validations': [
      exactlyOneOf(['virtualMachineDiskName', 'size']),
      {
        rule: 'has(self.size) || (!has(self.storageClassName) && !has(self.accessModes) && !has(self.volumeMode))',
        message:
          'storageClassName, accessModes and volumeMode apply only to a new disk (size); an existing VirtualMachineDisk carries its own',
      },
      {
        rule: "self.name != 'boot' && self.name != 'cloudinit'",
        message: 'the disk names "boot" and "cloudinit" are reserved',
        fieldPath: '.name',
      },
    ],
  },
);

/** KubeVirt's limit on cloud-init data given inline (virt-api refuses more). */
export const INLINE_CLOUD_INIT_MAX_BYTES = 2048;

const inlineLimit = (what: string, instead: string) => ({
  rule: `bytes(self).size() <= ${INLINE_CLOUD_INIT_MAX_BYTES}`,
  message: `must be at most ${INLINE_CLOUD_INIT_MAX_BYTES} bytes, KubeVirt's limit for ${what} given inline: ${instead}`,
});

const cloudInit = obj(
  'cloud-init data handed to the guest on its first boot (NoCloud data source).',
  {
    userData: str(
      `The user data itself, usually starting with #cloud-config. At most ${INLINE_CLOUD_INIT_MAX_BYTES} bytes (KubeVirt's limit for inline data); larger data belongs in a Secret (secretRef).`,
      {
        minLength: 1,
        maxLength: 8192,
        'x-kubernetes-validations': [
          inlineLimit('user data', 'put it in a Secret and use bootstrap.cloudInit.secretRef'),
        ],
      },
    ),
    secretRef: obj(
      "Read the user data from a Secret in the VM's namespace (for passwords and keys).",
      {
        name: objectName('The name of the Secret.'),
        key: enumOf(
          'The key in the Secret holding the user data: userdata or userData, the keys KubeVirt reads.',
          ['userdata', 'userData'],
          { default: 'userdata' },
        ),
      },
      { required: ['name'] },
    ),
    networkData: str(
      `Optional cloud-init network configuration (version 1 or 2). At most ${INLINE_CLOUD_INIT_MAX_BYTES} bytes (KubeVirt's limit for inline data).`,
      {
        minLength: 1,
        maxLength: 8192,
        'x-kubernetes-validations': [
          inlineLimit('network data', 'shorten it (vmplane takes network data inline only)'),
        ],
      },
    ),
  },
  { 'x-kubernetes-validations': [exactlyOneOf(['userData', 'secretRef'])] },
);

const probe = obj(
  'How to tell that the guest is ready for traffic. Exactly one check.',
  {
    tcpSocket: obj(
      'Ready when a TCP connection to this port of the guest succeeds.',
      { port: int('TCP port in the guest, 1 to 65535.', { minimum: 1, maximum: 65535 }) },
      { required: ['port'] },
    ),
    httpGet: obj(
      'Ready when an HTTP GET to the guest answers 200 to 399.',
      {
        port: int('TCP port in the guest, 1 to 65535.', { minimum: 1, maximum: 65535 }),
        path: str('The request path, for example /healthz.', { maxLength: 2048, default: '/' }),
      },
      { required: ['port'] },
    ),
    guestAgent: obj(
      'Ready when the QEMU guest agent in the VM answers.',
      { enabled: bool('Must be true.') },
      { required: ['enabled'] },
    ),
    initialDelaySeconds: int('Seconds after start before the first check.', {
      minimum: 0,
      maximum: 3600,
    }),
    periodSeconds: int('Seconds between checks.', { minimum: 1, maximum: 3600, default: 10 }),
  },
  { 'x-kubernetes-validations': [exactlyOneOf(['tcpSocket', 'httpGet', 'guestAgent'])] },
);

export const virtualMachine: KindDefinition = {
  kind: 'VirtualMachine',
  plural: 'virtualmachines',
  singular: 'virtualmachine',
  // KubeVirt's VirtualMachine claims vm and vms; on a cluster with both, kubectl would pick one
  // by group order. vmplane's names are its own.
  shortNames: ['vmpvm', 'vmpvms'],
  scope: 'Namespaced',
  rules: [
    {
      rule: `self.metadata.name.size() <= ${MAX_VM_NAME}`,
      message: `metadata.name: at most ${MAX_VM_NAME} characters: the name is a label value on the KubeVirt objects made for the VM`,
      reason: 'FieldValueInvalid',
    },
  ],
  description:
    'A VirtualMachine is a VM declared like any Kubernetes object: a class for its size, an image to boot from, disks, networks and cloud-init. vmplane admits it against classes and policies and runs it on KubeVirt; status reports what the engine really does.',
  spec: obj(
    'The VM you want.',
    {
      className: objectName(
        'The VirtualMachineClass that sizes the VM (kubectl get vmclass). When omitted, the admission webhook fills in the default class of the namespace. Changing it on a running VM takes effect at the next power cycle.',
      ),
      image: imageRef(
        'The image the boot disk is made from. Either this or one disk with boot: true.',
      ),
      bootDisk,
      disks: arr('Data disks (and the boot disk when not booting from an image).', disk, {
        maxItems: 32,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        'x-kubernetes-validations': [
          {
            rule: 'self.filter(d, has(d.boot) && d.boot).size() <= 1',
            message: 'at most one disk may have boot: true',
          },
        ],
      }),
      powerState: enumOf(
        'PoweredOn (running), PoweredOff (stopped; disks kept) or Suspended (paused in memory).',
        POWER_STATES,
        { default: 'PoweredOn' },
      ),
      powerOffMode: enumOf(
        'How to power off: Hard (cut power), Soft (ask the guest to shut down) or TrySoft (ask, then cut power after the grace period).',
        POWER_OFF_MODES,
        { default: 'TrySoft' },
      ),
      evictionStrategy: enumOf(
        `${EVICTION_STRATEGY_DOC} Omitted here: the class's.`,
        EVICTION_STRATEGIES,
      ),
      bootstrap: obj('First-boot configuration of the guest.', { cloudInit }),
      network: obj('Network interfaces. Omitted: one interface on the pod network.', {
        interfaces: arr('The interfaces, in the order the guest sees them.', networkInterface, {
          maxItems: 16,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          'x-kubernetes-validations': [
            {
              rule: 'self.filter(i, !has(i.network)).size() <= 1',
              message: 'at most one interface may use the pod network (no network set)',
            },
          ],
        }),
      }),
      zone: str(
        'Run the VM only on nodes of this zone (their topology.kubernetes.io/zone label). A label value: up to 63 letters, digits, -, _ and ., beginning and ending with a letter or digit.',
        {
          maxLength: 63,
          'x-kubernetes-validations': [
            {
              rule: `self.matches(r'${LABEL_VALUE}')`,
              messageExpression: `'"' + self + '" is not a label value (letters, digits, -, _ and ., beginning and ending with a letter or digit); nodes carry the zone in their topology.kubernetes.io/zone label'`,
            },
          ],
        },
      ),
      readinessProbe: probe,
    },
    {
      'x-kubernetes-validations': [
        {
          rule: 'has(self.image) != (has(self.disks) && self.disks.exists(d, has(d.boot) && d.boot))',
          message:
            'the VM needs exactly one boot source: set spec.image, or mark one entry of spec.disks with boot: true, but not both',
        },
        {
          rule: '!has(self.readinessProbe) || has(self.readinessProbe.guestAgent) || !has(self.network) || !has(self.network.interfaces) || self.network.interfaces.size() == 0 || self.network.interfaces.exists(i, !has(i.network))',
          message:
            'tcpSocket and httpGet checks reach the guest over the pod network: add an interface without a network, or use guestAgent',
          fieldPath: '.readinessProbe',
        },
        {
          rule: '!has(self.bootDisk) || has(self.image)',
          message:
            'describes the disk made from spec.image; set spec.image or remove spec.bootDisk',
          fieldPath: '.bootDisk',
        },
        {
          rule: '!has(oldSelf.image) || (has(self.image) && self.image.name == oldSelf.image.name)',
          message:
            'is immutable: the boot disk was made from it; create a new VM to use another image',
          fieldPath: '.image',
        },
      ],
    },
  ),
  status: obj('What the VM is really doing, as reported by the engine.', {
    observedGeneration: observedGeneration(),
    phase: enumOf('Lifecycle phase.', VM_PHASES),
    printableStatus: str(
      'A one-word summary for humans, as KubeVirt prints it (Running, Stopped, ErrorUnschedulable...).',
      {
        maxLength: 64,
      },
    ),
    powerState: enumOf('The power state the VM is actually in.', POWER_STATES),
    nodeName: str('The node the VM runs on.'),
    primaryIP: str('The first IP address of the first interface.', { maxLength: 64 }),
    ipAddresses: arr(
      'Every IP address the guest reports, first interface first.',
      str('An IPv4 or IPv6 address.', { maxLength: 64 }),
      {
        maxItems: 64,
      },
    ),
    interfaces: arr(
      'Per-interface network state: one entry per spec interface, whether the VM runs or not.',
      obj('The state of one interface.', {
        name: str('Interface name from spec.network.interfaces.', { maxLength: 63 }),
        network: str(
          'The network of the interface (a Network or NetworkAttachmentDefinition); empty: the pod network.',
        ),
        macAddress: str('The MAC address assigned to the interface (or in use).', {
          maxLength: 17,
        }),
        ipAddress: str('The static-pool address allocated to the interface.', { maxLength: 15 }),
        ipAddresses: arr(
          'The addresses the engine observes on this interface while the VM runs.',
          str('An IPv4 or IPv6 address.', { maxLength: 64 }),
          { maxItems: 16 },
        ),
      }),
      { maxItems: 16 },
    ),
    class: obj(
      'The class as it was resolved when the VM last powered on; edits to the class apply at the next power cycle.',
      {
        name: str('The class name.'),
        cpus: int('vCPUs in effect.', { minimum: 0 }),
        memory: str('Memory in effect.', { maxLength: 32 }),
        reservation: enumOf('Reservation in effect.', RESERVATIONS),
        generation: {
          type: 'integer',
          format: 'int64',
          minimum: 0,
          description: 'The metadata.generation of the class that was applied.',
        },
      },
    ),
    guestOS: guestOS(),
    restartPending: bool('True when a change (class, disks) waits for the next power cycle.'),
    conditions: conditions(
      'ClassResolved (the class exists and this namespace may use it), ImageResolved (the image exists), DisksReady (every disk is ready), EngineAvailable (KubeVirt and CDI serve the VM), Ready (running and ready), RestartPending (True when the class changed while the VM ran: the change applies at the next power cycle), PowerAction (False when the power state asked for cannot be reached now, for example Suspended on a stopped VM) and AgentConnected (True while the QEMU guest agent in the guest answers, as the VMI condition of that name in KubeVirt says; False with reason NotRunning or AgentNotConnected otherwise): each with a reason and a message that says what to do.',
    ),
  }),
  printerColumns: [
    {
      name: 'CLASS',
      type: 'string',
      jsonPath: '.spec.className',
      description: 'The VirtualMachineClass.',
    },
    { name: 'IMAGE', type: 'string', jsonPath: '.spec.image.name', description: 'The boot image.' },
    {
      name: 'POWER',
      type: 'string',
      jsonPath: '.spec.powerState',
      description: 'Requested power state.',
    },
    {
      name: 'STATUS',
      type: 'string',
      jsonPath: '.status.printableStatus',
      description: 'What the VM is doing.',
    },
    {
      name: 'IP',
      type: 'string',
      jsonPath: '.status.primaryIP',
      description: 'Primary IP address.',
    },
    {
      name: 'NODE',
      type: 'string',
      jsonPath: '.status.nodeName',
      description: 'Node the VM runs on.',
    },
    {
      name: 'ZONE',
      type: 'string',
      jsonPath: '.spec.zone',
      description: 'Zone constraint.',
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
