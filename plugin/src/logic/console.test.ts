import { describe, expect, it } from 'vitest';
import { consoleAvailable, consolePath } from './console';

describe('consoleAvailable', () => {
  it('is open while an instance runs, is paused or migrates', () => {
    for (const s of ['Running', 'Paused', 'Migrating']) expect(consoleAvailable(s)).toBe(true);
  });
  it('is closed when there is no instance', () => {
    for (const s of ['Stopped', 'Starting', 'Provisioning', 'Unknown', 'ErrorUnschedulable', ''])
      expect(consoleAvailable(s)).toBe(false);
  });
});

describe('consolePath', () => {
  it('points at the instance console subresource and escapes names', () => {
    expect(consolePath('team-a', 'web-1')).toBe(
      '/apis/subresources.kubevirt.io/v1/namespaces/team-a/virtualmachineinstances/web-1/console'
    );
    expect(consolePath('a b', 'c/d')).toContain('/namespaces/a%20b/virtualmachineinstances/c%2Fd/');
  });
});
