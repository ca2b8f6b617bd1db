// Answers of a real QEMU guest agent, captured from Debian 12's qemu-guest-agent 7.2 through
// guest-agent.ts (the kernel and login time made to look like a Debian cloud guest's): an
// interface list with loopback, an interface without addresses and a card with IPv4, a global and
// a link-local IPv6 address; a filesystem on a virtio disk. For the tests of what they become.
import { REQUIRED_AGENT_COMMANDS } from './guest-agent-status.ts';

export const CAPTURED = {
  osinfo: {
    name: 'Debian GNU/Linux',
    'kernel-release': '6.1.0-28-cloud-amd64',
    version: '12 (bookworm)',
    'pretty-name': 'Debian GNU/Linux 12 (bookworm)',
    'version-id': '12',
    'kernel-version': '#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)',
    machine: 'x86_64',
    id: 'debian',
  },
  interfaces: [
    {
      name: 'lo',
      'ip-addresses': [
        { 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 },
        { 'ip-address-type': 'ipv6', 'ip-address': '::1', prefix: 128 },
      ],
      'hardware-address': '00:00:00:00:00:00',
    },
    { name: 'ifb0', 'hardware-address': 'be:a2:8a:07:94:57' },
    {
      name: 'eth0',
      'ip-addresses': [
        { 'ip-address-type': 'ipv6', 'ip-address': 'fd00::2', prefix: 64 },
        { 'ip-address-type': 'ipv4', 'ip-address': '192.0.2.2', prefix: 24 },
        { 'ip-address-type': 'ipv6', 'ip-address': 'fe80::fc:ff:fe00:1', prefix: 64 },
      ],
      statistics: { 'tx-packets': 164746, 'rx-bytes': 4179201090 },
      'hardware-address': '02:fc:00:00:00:01',
    },
  ],
  fsinfo: [
    {
      name: 'vda1',
      'total-bytes': 97793294336,
      mountpoint: '/',
      disk: [
        {
          'bus-type': 'virtio',
          bus: 0,
          unit: 0,
          'pci-controller': { bus: 0, slot: 2, domain: 0, function: 0 },
          dev: '/dev/vda',
          target: 0,
        },
      ],
      'used-bytes': 26460942336,
      type: 'ext4',
    },
  ],
  users: [{ user: 'root', 'login-time': 1733482800.123456 }],
  info: {
    version: '7.2.22',
    supported_commands: [
      ...REQUIRED_AGENT_COMMANDS.map((name) => ({ enabled: true, name, 'success-response': true })),
      { enabled: false, name: 'guest-get-devices', 'success-response': true },
    ],
  },
};
