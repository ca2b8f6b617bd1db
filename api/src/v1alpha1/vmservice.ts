// VirtualMachineService: vSphere VM Service's kind for exposing VM ports. vmplane writes a
// selectorless Service of the same name and its EndpointSlices from the selected VMs' ready
// pod-network addresses (as vm-operator does), so it works whatever the engine's pods look like.
import type { KindDefinition } from '../kind.ts';
import {
  arr,
  conditions,
  enumOf,
  int,
  obj,
  observedGeneration,
  str,
  stringMap,
  labelName,
} from '../schema.ts';

export const VM_SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;
export const VM_SERVICE_PROTOCOLS = ['TCP', 'UDP'] as const;

const portNumber = (description: string): ReturnType<typeof int> =>
  int(`${description} 1 to 65535.`, { minimum: 1, maximum: 65535 });

const servicePort = obj(
  'One port the service exposes.',
  {
    name: labelName('The port name (required when there is more than one port), for example ssh.'),
    protocol: enumOf('TCP or UDP.', VM_SERVICE_PROTOCOLS, { default: 'TCP' }),
    port: portNumber('The port the service listens on,'),
    targetPort: portNumber('The port in the guest that traffic goes to,'),
    nodePort: int(
      'The port on every node (NodePort and LoadBalancer only), 30000 to 32767. Omitted: Kubernetes picks one.',
      { minimum: 30000, maximum: 32767 },
    ),
  },
  { required: ['port', 'targetPort'] },
);

export const virtualMachineService: KindDefinition = {
  kind: 'VirtualMachineService',
  plural: 'virtualmachineservices',
  singular: 'virtualmachineservice',
  shortNames: ['vmsvc'],
  scope: 'Namespaced',
  description:
    "A VirtualMachineService exposes ports of the VMs its selector picks in its namespace, like vSphere's VM Service. vmplane writes a Service of the same name (without a selector) and its EndpointSlices: one endpoint per selected VM with a pod-network address, ready when the VM is Ready.",
  spec: obj(
    'Which VMs, which ports, and how the service is reached.',
    {
      type: enumOf(
        'ClusterIP (inside the cluster), NodePort (also on every node) or LoadBalancer (also at an external address).',
        VM_SERVICE_TYPES,
        { default: 'ClusterIP' },
      ),
      selector: stringMap(
        'Labels a VM in this namespace must have (all of them) to be behind the service. Omitted or empty: no VM is, and the service has no endpoints.',
      ),
      ports: arr('The ports, at least one.', servicePort, {
        minItems: 1,
        maxItems: 64,
        'x-kubernetes-validations': [
          {
            rule: 'self.size() <= 1 || self.all(p, has(p.name))',
            message: 'every port needs a name when there is more than one',
          },
          {
            rule: 'self.all(p, self.exists_one(q, q.port == p.port && q.protocol == p.protocol))',
            message: 'each port and protocol may appear only once',
          },
          {
            rule: 'self.all(p, !has(p.name) || self.exists_one(q, has(q.name) && q.name == p.name))',
            message: 'port names must be unique',
          },
        ],
      }),
      loadBalancerIP: str('The external address asked of the load balancer (LoadBalancer only).', {
        maxLength: 64,
      }),
    },
    {
      required: ['ports'],
      'x-kubernetes-validations': [
        {
          rule: "!has(self.type) || self.type != 'ClusterIP' || self.ports.all(p, !has(p.nodePort))",
          message: 'nodePort needs type NodePort or LoadBalancer',
          fieldPath: '.ports',
        },
        {
          rule: "!has(self.loadBalancerIP) || (has(self.type) && self.type == 'LoadBalancer')",
          message: 'loadBalancerIP needs type LoadBalancer',
          fieldPath: '.loadBalancerIP',
        },
      ],
    },
  ),
  status: obj('What the service looks like on the cluster.', {
    observedGeneration: observedGeneration(),
    clusterIP: str("The Service's cluster address.", { maxLength: 64 }),
    loadBalancer: obj('The external addresses (LoadBalancer), as the Service reports them.', {
      ingress: arr(
        'One entry per address.',
        obj('An external address.', {
          ip: str('An IP address.', { maxLength: 64 }),
          hostname: str('A DNS name.'),
        }),
        { maxItems: 16 },
      ),
    }),
    endpoints: int('VMs selected that have a pod-network address.', { minimum: 0 }),
    readyEndpoints: int('Of those, the VMs that are Ready.', { minimum: 0 }),
    conditions: conditions(
      'Ready: the Service and its EndpointSlices are written (False with reason NameInUse when a Service or EndpointSlice vmplane does not own has the name; vmplane leaves it alone).',
    ),
  }),
  printerColumns: [
    { name: 'TYPE', type: 'string', jsonPath: '.spec.type', description: 'Service type.' },
    {
      name: 'CLUSTER-IP',
      type: 'string',
      jsonPath: '.status.clusterIP',
      description: 'Cluster address.',
    },
    {
      name: 'EXTERNAL-IP',
      type: 'string',
      jsonPath: '.status.loadBalancer.ingress[0].ip',
      description: 'External address (LoadBalancer).',
    },
    {
      name: 'READY',
      type: 'integer',
      jsonPath: '.status.readyEndpoints',
      description: 'Ready VMs behind the service.',
    },
    {
      name: 'AGE',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
};
