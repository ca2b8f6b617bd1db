// The poller's decisions: what each answer becomes, and how the waits grow (virt-launcher's).
import { describe, expect, it } from 'vitest';
import { nextInterval, POLL_INTERVALS, POLL_WORKERS, withAnswer } from './agent-poller.ts';
import { CAPTURED } from './guest-agent-captured.ts';

describe('the poller', () => {
  it('asks what virt-launcher asks, on its intervals', () => {
    expect(POLL_WORKERS.flatMap((w) => w.commands).sort()).toEqual([
      'guest-get-fsinfo',
      'guest-get-host-name',
      'guest-get-osinfo',
      'guest-get-timezone',
      'guest-get-users',
      'guest-info',
      'guest-network-get-interfaces',
    ]);
    expect(POLL_INTERVALS).toEqual({
      initialMs: 10_000,
      sysMs: 120_000,
      fileMs: 300_000,
      userMs: 10_000,
      versionMs: 300_000,
    });
  });
  it('waits 10 s, then twice as long each time, up to the worker interval', () => {
    const waits = [10_000];
    for (let i = 0; i < 5; i++) waits.push(nextInterval(waits.at(-1) as number, 120_000));
    expect(waits).toEqual([10_000, 20_000, 40_000, 80_000, 120_000, 120_000]);
  });
  it('stores each answer where KubeVirt keeps it', () => {
    let f = withAnswer({}, 'guest-get-osinfo', CAPTURED.osinfo);
    f = withAnswer(f, 'guest-get-host-name', { 'host-name': 'deb' });
    f = withAnswer(f, 'guest-get-timezone', { zone: 'CET', offset: 3600 });
    f = withAnswer(f, 'guest-network-get-interfaces', CAPTURED.interfaces);
    f = withAnswer(f, 'guest-unknown', { x: 1 });
    expect(f).toMatchObject({
      os: { id: 'debian' },
      hostname: 'deb',
      timezone: { zone: 'CET', offset: 3600 },
      interfaces: [{ interfaceName: 'ifb0' }, { interfaceName: 'eth0', ip: '192.0.2.2' }],
    });
  });
});
