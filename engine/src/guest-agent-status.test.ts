// The agent's answers as KubeVirt reads them, from answers captured from a real agent
// (guest-agent-captured.ts).
import { describe, expect, it } from 'vitest';
import {
  agentVersionOf,
  filesystemList,
  filesystemsOf,
  guestAgentInfo,
  interfacesOf,
  mergeInterfaces,
  osInfoOf,
  unsupportedReason,
  userList,
  usersOf,
} from './guest-agent-status.ts';
import { CAPTURED } from './guest-agent-captured.ts';

describe("the agent's answers", () => {
  it('OS info: every field KubeVirt keeps, in its names', () => {
    expect(osInfoOf(CAPTURED.osinfo)).toEqual({
      name: 'Debian GNU/Linux',
      kernelRelease: '6.1.0-28-cloud-amd64',
      version: '12 (bookworm)',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      versionId: '12',
      kernelVersion: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)',
      machine: 'x86_64',
      id: 'debian',
    });
  });

  it('interfaces: no loopback; the first IPv4 address is the interface address', () => {
    expect(interfacesOf(CAPTURED.interfaces)).toEqual([
      { interfaceName: 'ifb0', mac: 'be:a2:8a:07:94:57', ips: [] },
      {
        interfaceName: 'eth0',
        mac: '02:fc:00:00:00:01',
        ip: '192.0.2.2',
        ips: ['fd00::2', '192.0.2.2', 'fe80::fc:ff:fe00:1'],
      },
    ]);
  });

  it('filesystems, users (login time to the millisecond) and the agent version', () => {
    expect(filesystemsOf(CAPTURED.fsinfo)).toEqual([
      {
        diskName: 'vda1',
        mountPoint: '/',
        fileSystemType: 'ext4',
        usedBytes: 26460942336,
        totalBytes: 97793294336,
        disk: [{ busType: 'virtio' }],
      },
    ]);
    expect(usersOf(CAPTURED.users)).toEqual([{ userName: 'root', loginTime: 1733482800.123 }]);
    const v = agentVersionOf(CAPTURED.info);
    expect(v.version).toBe('7.2.22');
    expect(v.supportedCommands).toContainEqual({ name: 'guest-get-devices' });
    expect(unsupportedReason(v)).toBeUndefined();
    const without = { ...v, supportedCommands: v.supportedCommands.slice(1) };
    expect(unsupportedReason(without)).toBe(
      "This guest agent doesn't support required basic commands",
    );
  });
});

describe('interfaces merged as virt-handler merges them', () => {
  const domain = [
    {
      name: 'default',
      mac: '02:FC:00:00:00:01',
      ipAddress: '192.0.2.2',
      ipAddresses: ['192.0.2.2'],
      infoSource: 'domain',
    },
  ];
  it('the matching MAC is `domain, guest-agent` with the guest name and both families', () => {
    const merged = mergeInterfaces(domain, interfacesOf(CAPTURED.interfaces));
    expect(merged).toEqual([
      {
        name: 'default',
        mac: '02:FC:00:00:00:01',
        interfaceName: 'eth0',
        ipAddress: '192.0.2.2',
        ipAddresses: ['192.0.2.2', 'fd00::2', 'fe80::fc:ff:fe00:1'],
        infoSource: 'domain, guest-agent',
      },
      { mac: 'be:a2:8a:07:94:57', interfaceName: 'ifb0', infoSource: 'guest-agent' },
    ]);
  });
  it('without the agent the domain interfaces are as they were', () => {
    expect(mergeInterfaces(domain, undefined)).toEqual(domain);
  });
});

describe("the subresources' bodies", () => {
  const facts = {
    agent: agentVersionOf(CAPTURED.info),
    os: osInfoOf(CAPTURED.osinfo),
    hostname: 'deb',
    timezone: { zone: 'UTC', offset: 0 },
    users: usersOf(CAPTURED.users),
    filesystems: filesystemsOf(CAPTURED.fsinfo),
  };
  it('guestosinfo is VirtualMachineInstanceGuestAgentInfo', () => {
    expect(guestAgentInfo(facts)).toMatchObject({
      guestAgentVersion: '7.2.22',
      hostname: 'deb',
      os: { id: 'debian', versionId: '12' },
      timezone: 'UTC, 0',
      userList: [{ userName: 'root' }],
      fsInfo: { disks: [{ diskName: 'vda1', mountPoint: '/' }] },
    });
    expect(guestAgentInfo({})).toEqual({ os: {}, timezone: ', 0', fsInfo: { disks: null } });
  });
  it('userlist and filesystemlist are lists with items', () => {
    expect(userList(facts)).toEqual({ metadata: {}, items: facts.users });
    expect(filesystemList({})).toEqual({ metadata: {}, items: [] });
  });
});
