import { describe, expect, it } from 'vitest';
import {
  parsePortSpec,
  parsePortSpecs,
  parseSshTarget,
  remoteCommand,
  proxyWord,
  sshArgs,
  sshDefaults,
  type SshPlan,
} from './forward-args.ts';

describe('port specs', () => {
  it('reads REMOTE, LOCAL:REMOTE and :REMOTE as kubectl port-forward does', () => {
    expect(parsePortSpec('22')).toEqual({ local: 22, remote: 22 });
    expect(parsePortSpec('8080:80')).toEqual({ local: 8080, remote: 80 });
    expect(parsePortSpec(':80')).toEqual({ local: 0, remote: 80 });
  });

  it('refuses what is not a port, naming the spec, the port and what is accepted', () => {
    expect(() => parsePortSpec('http')).toThrow(
      'port "http": the guest port "http" is not a port number; accepted: 1-65535 (as REMOTE, LOCAL:REMOTE or :REMOTE)',
    );
    expect(() => parsePortSpec('0')).toThrow('the guest port "0" is not a port number');
    expect(() => parsePortSpec('70000:80')).toThrow(
      'the local port "70000" is not a port number; accepted: 0-65535',
    );
    expect(() => parsePortSpec('1:2:3')).toThrow('too many ":"');
    expect(() => parsePortSpec('-1')).toThrow('is not a port number');
  });

  it('takes one port with --stdio, and no local port twice', () => {
    expect(parsePortSpecs(['22'], true)).toEqual([{ local: 22, remote: 22 }]);
    expect(() => parsePortSpecs(['22', '80'], true)).toThrow(
      '--stdio carries one connection: name one port, not 2',
    );
    expect(() => parsePortSpecs(['8080:80', '8080:81'], false)).toThrow(
      'local port 8080 is named twice',
    );
    expect(parsePortSpecs([':80', ':81'], false)).toHaveLength(2);
    expect(() => parsePortSpecs([], false)).toThrow('name at least one port');
  });
});

describe('parseSshTarget', () => {
  it('reads [USER@]VM', () => {
    expect(parseSshTarget('demo@debian-1')).toEqual({ user: 'demo', name: 'debian-1' });
    expect(parseSshTarget('debian-1')).toEqual({ name: 'debian-1' });
  });

  it('refuses an empty user and what is no VM name', () => {
    expect(() => parseSshTarget('@debian-1')).toThrow('no user before "@"');
    expect(() => parseSshTarget('demo@vm/debian-1')).toThrow(
      '"demo@vm/debian-1": "vm/debian-1" is not a VM name',
    );
  });
});

describe('proxyWord', () => {
  it('leaves plain words, quotes the rest for the shell and doubles % for ssh', () => {
    expect(proxyWord('/usr/bin/node')).toBe('/usr/bin/node');
    expect(proxyWord('file:///a/tsx/esm.mjs')).toBe('file:///a/tsx/esm.mjs');
    expect(proxyWord("it's here")).toBe(`'it'\\''s here'`);
    expect(proxyWord('/tmp/100%')).toBe(`'/tmp/100%%'`);
  });
});

describe('sshArgs', () => {
  const plan: SshPlan = {
    self: ['/usr/bin/node', '--import', 'tsx', '/repo/cli/src/kubectl-vm/main.ts'],
    cluster: { kubeconfig: '/s/kubeconfig' },
    namespace: 'demo',
    name: 'debian-1',
    uid: 'u-1',
    user: 'demo',
    port: 22,
    identity: '/s/ssh/id_ed25519',
    knownHosts: '/s/ssh/known_hosts',
    command: ['cat', '/etc/hostname'],
  };

  it('runs ssh through kubectl vm port-forward --stdio, with a host key per VM', () => {
    expect(sshArgs(plan)).toEqual([
      '-o',
      'ProxyCommand=/usr/bin/node --import tsx /repo/cli/src/kubectl-vm/main.ts port-forward --stdio --kubeconfig /s/kubeconfig -n demo debian-1 22',
      '-o',
      'HostKeyAlias=debian-1.demo.u-1.vm',
      '-o',
      'StrictHostKeyChecking=accept-new',
      '-o',
      'UserKnownHostsFile=/s/ssh/known_hosts',
      '-i',
      '/s/ssh/id_ed25519',
      '-o',
      'IdentitiesOnly=yes',
      '-l',
      'demo',
      '-p',
      '22',
      '--',
      'debian-1.demo',
      'cat',
      '/etc/hostname',
    ]);
  });

  it('leaves user and key to ssh when none is given, and passes the context and another port', () => {
    const args = sshArgs({
      ...plan,
      cluster: { context: 'prod' },
      user: undefined,
      identity: undefined,
      port: 2222,
      command: [],
    } as SshPlan);
    expect(args).not.toContain('-i');
    expect(args).not.toContain('-l');
    expect(args[1]).toMatch(/port-forward --stdio --context prod -n demo debian-1 2222$/);
    expect(args.slice(-4)).toEqual(['-p', '2222', '--', 'debian-1.demo']);
  });
});

describe('sshDefaults', () => {
  const has =
    (...paths: string[]) =>
    (p: string): boolean =>
      paths.includes(p);

  it("uses the ssh directory beside the kubeconfig: the sandbox's key and known hosts", () => {
    expect(
      sshDefaults({
        kubeconfigEnv: ':/r/.vmplane/kubeconfig:/other',
        home: '/home/u',
        exists: has('/r/.vmplane/ssh', '/r/.vmplane/ssh/id_ed25519'),
      }),
    ).toEqual({
      identity: '/r/.vmplane/ssh/id_ed25519',
      knownHosts: '/r/.vmplane/ssh/known_hosts',
    });
  });

  it('prefers --kubeconfig, and a relative one is beside the working directory', () => {
    expect(
      sshDefaults({
        kubeconfigFlag: 'kubeconfig',
        kubeconfigEnv: '/r/.vmplane/kubeconfig',
        home: '/home/u',
        exists: has('./ssh'),
      }),
    ).toEqual({ knownHosts: './ssh/known_hosts' });
  });

  it("leaves the key to ssh and keeps host keys apart from the user's otherwise", () => {
    expect(sshDefaults({ home: '/home/u', exists: has() })).toEqual({
      knownHosts: '/home/u/.ssh/vmplane_known_hosts',
    });
  });
});

describe('the command run in the guest', () => {
  it('is what follows --, which yargs leaves out of the positionals', () => {
    const raw = [
      'node',
      'main.ts',
      'ssh',
      'demo@vm',
      '-n',
      'demo',
      '--',
      'cat',
      '/etc/x',
      '--',
      'y',
    ];
    expect(remoteCommand([], raw)).toEqual(['cat', '/etc/x', '--', 'y']);
    expect(remoteCommand([], ['node', 'main.ts', 'ssh', 'demo@vm'])).toEqual([]);
  });

  it('is the positionals when yargs gave some', () => {
    expect(remoteCommand(['uname', '-a'], ['node', 'main.ts', 'ssh', 'vm', 'uname', '-a'])).toEqual(
      ['uname', '-a'],
    );
  });
});
