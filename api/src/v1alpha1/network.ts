// Networks VMs plug into (the pod network or an L2 segment with its own address management) and
// the NetworkAddress claims that keep every MAC and static-pool IP unique in the cluster.
import type { CelRule } from '../schema.ts';
import type { KindDefinition } from '../kind.ts';
import {
  arr,
  conditions,
  enumOf,
  exactlyOneOf,
  int,
  labelName,
  labelSelector,
  marker,
  obj,
  objectName,
  observedGeneration,
  str,
} from '../schema.ts';

export const NETWORK_TYPES = ['Pod', 'L2'] as const;
export const ADDRESS_KINDS = ['MAC', 'IP'] as const;
/** Linux limits interface names (a bridge included) to 15 characters. */
export const MAX_BRIDGE_NAME = 15;
/** The bridge an L2 network gets when spec.l2.bridge is omitted: vmp-<name>. */
export const BRIDGE_PREFIX = 'vmp-';

/** Labels on a NetworkAddress: the network (IP only) and the VM holding it. */
export const NetworkAddressLabels = {
  network: 'vmplane.io/network',
  vmNamespace: 'vmplane.io/vm-namespace',
  vmName: 'vmplane.io/vm-name',
} as const;

const ipv4 = (description: string): ReturnType<typeof str> =>
  str(description, {
    maxLength: 15,
    'x-kubernetes-validations': [
      {
        rule: 'isIP(self) && ip(self).family() == 4',
        messageExpression: `'"' + self + '" is not an IPv4 address like 192.168.100.1'`,
      },
    ],
  });

const inCidr = (field: string): string =>
  `!isCIDR(self.cidr) || !isIP(${field}) || cidr(self.cidr).containsIP(ip(${field}))`;

const staticPoolRules: CelRule[] = [
  {
    rule: inCidr('self.gateway'),
    message: 'is outside cidr: the gateway must be an address of the subnet',
    fieldPath: '.gateway',
  },
  {
    rule: `!has(self.ranges) || self.ranges.all(r, ${inCidr('r.start')} && ${inCidr('r.end')})`,
    message: 'every range must lie inside cidr (start and end both)',
    fieldPath: '.ranges',
  },
];

const staticPool = obj(
  'Addresses vmplane allocates from: one per VM interface on this network, kept while the VM exists (stop and start included), released when it is deleted. The guest gets its address from cloud-init network data (or the segment DHCP server in the sandbox).',
  {
    cidr: str('The subnet, an IPv4 CIDR such as 192.168.100.0/24.', {
      maxLength: 18,
      'x-kubernetes-validations': [
        {
          rule: 'isCIDR(self) && cidr(self).ip().family() == 4 && cidr(self).prefixLength() <= 30',
          messageExpression: `'"' + self + '" is not an IPv4 CIDR with room for hosts, such as 192.168.100.0/24 (prefix /30 or shorter)'`,
        },
      ],
    }),
    gateway: ipv4('The default gateway the guests use, an address of cidr. Optional.'),
    ranges: arr(
      'The address ranges handed out, inside cidr. Omitted: the whole cidr minus the network address, the broadcast address and the gateway.',
      obj(
        'One inclusive range of addresses, from start to end.',
        {
          start: ipv4('The first address of the range.'),
          end: ipv4('The last address of the range (not before start).'),
        },
        { required: ['start', 'end'] },
      ),
      { maxItems: 16 },
    ),
    nameservers: arr('DNS servers given to the guests, in order.', ipv4('A DNS server address.'), {
      maxItems: 3,
    }),
    search: arr('DNS search domains given to the guests.', str('A domain.'), { maxItems: 6 }),
  },
  { required: ['cidr'], 'x-kubernetes-validations': staticPoolRules },
);

const l2 = obj(
  'The L2 segment: a Linux bridge on each node, optionally on a VLAN of a node interface.',
  {
    nodeInterface: str(
      "The node's network interface the bridge is attached to (for example eth1). Omitted: a bridge of its own, reaching only the VMs on it.",
      { maxLength: MAX_BRIDGE_NAME },
    ),
    bridge: str(
      `The Linux bridge name, at most ${MAX_BRIDGE_NAME} characters. Omitted: ${BRIDGE_PREFIX}<network name>.`,
      {
        maxLength: MAX_BRIDGE_NAME,
        'x-kubernetes-validations': [
          {
            rule: `self.matches(r'^[a-zA-Z0-9][-a-zA-Z0-9_.]*$')`,
            messageExpression: `'"' + self + '" is not a bridge name: use letters, digits, -, _ and ., at most ${MAX_BRIDGE_NAME} characters'`,
          },
        ],
      },
    ),
    vlanID: int('The VLAN ID (802.1Q tag), 1 to 4094. Omitted: untagged.', {
      minimum: 1,
      maximum: 4094,
    }),
  },
);

const ipam = obj(
  'How guests on this network get their IP addresses. Exactly one of externalDHCP or staticPool.',
  {
    externalDHCP: marker(
      "The segment's own DHCP server gives the addresses; vmplane only assigns MAC addresses.",
    ),
    staticPool,
  },
  { 'x-kubernetes-validations': [exactlyOneOf(['externalDHCP', 'staticPool'])] },
);

const networkRules: CelRule[] = [
  {
    rule: "self.type == 'L2' || (!has(self.l2) && !has(self.ipam))",
    message: 'l2 and ipam apply only to type L2; the pod network has its own addresses',
  },
];

export const network: KindDefinition = {
  kind: 'Network',
  plural: 'networks',
  singular: 'network',
  shortNames: ['vmnet'],
  scope: 'Cluster',
  rules: [
    {
      rule: `self.metadata.name.size() <= 63`,
      message:
        'metadata.name: at most 63 characters: the name is a label value on the NetworkAddresses of the network',
      reason: 'FieldValueInvalid',
    },
    {
      rule: `self.spec.type != 'L2' || (has(self.spec.l2) && has(self.spec.l2.bridge)) || self.metadata.name.size() <= ${MAX_BRIDGE_NAME - BRIDGE_PREFIX.length}`,
      message: `spec.l2.bridge: required when metadata.name is longer than ${MAX_BRIDGE_NAME - BRIDGE_PREFIX.length} characters: the default bridge name ${BRIDGE_PREFIX}<name> would pass Linux's ${MAX_BRIDGE_NAME}-character limit`,
      reason: 'FieldValueRequired',
    },
  ],
  description:
    'A Network is a network VMs can plug into, for administrators to offer: the pod network, or an L2 segment (a bridge on a node interface, optionally on a VLAN) with its IP address management (an external DHCP server, or a static pool vmplane allocates from). VM interfaces name it in spec.network.interfaces[].network; on a cluster it becomes Multus NetworkAttachmentDefinitions in the namespaces that use it.',
  spec: obj(
    'The network administrators offer.',
    {
      type: enumOf(
        'Pod (the cluster pod network, NAT) or L2 (a bridged segment of its own).',
        NETWORK_TYPES,
        { default: 'L2' },
      ),
      l2,
      ipam,
      namespaceSelector: labelSelector(
        'The namespaces whose VMs may use this network (by namespace labels). Omitted: every namespace.',
      ),
    },
    { 'x-kubernetes-validations': networkRules },
  ),
  status: obj('What vmplane sees of the network.', {
    observedGeneration: observedGeneration(),
    conditions: conditions(
      'Ready: the network is usable (reason Ready), or why not (reason InvalidSpec, with the field in the message).',
    ),
    pool: obj('Usage of the static pool (staticPool only).', {
      size: int('Addresses in the ranges, the gateway excluded.', { minimum: 0 }),
      allocated: int('Addresses held by VM interfaces (NetworkAddresses).', { minimum: 0 }),
      free: int('Addresses left to allocate.', { minimum: 0 }),
    }),
    namespaces: arr(
      'The namespaces that have a NetworkAttachmentDefinition for this network.',
      labelName('A namespace.'),
      { maxItems: 1024 },
    ),
  }),
  printerColumns: [
    { name: 'TYPE', type: 'string', jsonPath: '.spec.type', description: 'Pod or L2.' },
    { name: 'VLAN', type: 'integer', jsonPath: '.spec.l2.vlanID', description: 'VLAN ID.' },
    {
      name: 'CIDR',
      type: 'string',
      jsonPath: '.spec.ipam.staticPool.cidr',
      description: 'Subnet of the static pool.',
    },
    {
      name: 'ALLOCATED',
      type: 'integer',
      jsonPath: '.status.pool.allocated',
      description: 'Addresses allocated from the pool.',
    },
    {
      name: 'FREE',
      type: 'integer',
      jsonPath: '.status.pool.free',
      description: 'Addresses left in the pool.',
    },
    {
      name: 'AGE',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
};

export const networkAddress: KindDefinition = {
  kind: 'NetworkAddress',
  plural: 'networkaddresses',
  singular: 'networkaddress',
  shortNames: ['vmaddr'],
  scope: 'Cluster',
  description:
    "A NetworkAddress is vmplane's claim on one MAC address or one static-pool IP address for one VM interface. Its name is the address (mac-02-76-6d-00-00-01, ip-<network>-192-168-100-7), so the API server itself refuses a second claim. The admission webhook creates it; the controller deletes it when the VM is gone or no longer carries the address.",
  spec: obj(
    'The address and who holds it.',
    {
      kind: enumOf('MAC or IP.', ADDRESS_KINDS),
      address: str('The MAC address (02:76:6d:00:00:01) or the IPv4 address.', {
        maxLength: 17,
      }),
      network: objectName('The Network the IP address belongs to (IP only).'),
      vm: obj(
        'The VM interface holding the address.',
        {
          namespace: labelName("The VM's namespace."),
          name: objectName("The VM's name."),
          interface: labelName('The interface name in spec.network.interfaces.'),
        },
        { required: ['namespace', 'name', 'interface'] },
      ),
    },
    {
      required: ['kind', 'address', 'vm'],
      'x-kubernetes-validations': [
        {
          rule: "(self.kind == 'IP') == has(self.network)",
          message: 'network is set for an IP address and only for it',
        },
        { rule: 'self == oldSelf', message: 'is immutable: delete the claim and make another' },
      ],
    },
  ),
  printerColumns: [
    { name: 'KIND', type: 'string', jsonPath: '.spec.kind', description: 'MAC or IP.' },
    { name: 'ADDRESS', type: 'string', jsonPath: '.spec.address', description: 'The address.' },
    { name: 'NETWORK', type: 'string', jsonPath: '.spec.network', description: 'The Network.' },
    {
      name: 'VM-NAMESPACE',
      type: 'string',
      jsonPath: '.spec.vm.namespace',
      description: "The VM's namespace.",
    },
    { name: 'VM', type: 'string', jsonPath: '.spec.vm.name', description: 'The VM.' },
    {
      name: 'INTERFACE',
      type: 'string',
      jsonPath: '.spec.vm.interface',
      description: 'The interface.',
    },
    {
      name: 'AGE',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
};

/** One interface of a VirtualMachine (spec.network.interfaces[]). */
export const vmNetworkInterface = obj(
  'One network interface of the VM.',
  {
    name: labelName('The interface name, unique in the VM, for example nic0.'),
    network: objectName(
      "The network to plug into: a Network (kubectl get vmnet) by name, or, when no Network has that name, a NetworkAttachmentDefinition in the VM's namespace. Omitted: the pod network, with masquerade (NAT) binding.",
    ),
    macAddress: str(
      'A fixed MAC address, for example 02:00:00:00:00:01. Omitted: admission assigns one from 02:76:6d:00:00:00-02:76:6d:ff:ff:ff, kept for the life of the VM. No two interfaces in the cluster get the same one.',
      {
        maxLength: 17,
        'x-kubernetes-validations': [
          {
            rule: "self.matches(r'^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$')",
            messageExpression: `'"' + self + '" is not a MAC address like 02:00:00:00:00:01'`,
          },
        ],
      },
    ),
    ipAddress: str(
      "The IPv4 address of this interface on a Network with a static pool. Omitted: admission allocates a free one from the pool, kept for the life of the VM. A given one must lie in the pool's ranges and be free.",
      {
        maxLength: 15,
        'x-kubernetes-validations': [
          {
            rule: 'isIP(self) && ip(self).family() == 4',
            messageExpression: `'"' + self + '" is not an IPv4 address like 192.168.100.7'`,
          },
        ],
      },
    ),
  },
  {
    required: ['name'],
    'x-kubernetes-validations': [
      {
        rule: '!has(self.ipAddress) || has(self.network)',
        message: 'ipAddress applies only to an interface on a Network with a static pool',
        fieldPath: '.ipAddress',
      },
    ],
  },
);
