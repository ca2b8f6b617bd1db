import { describe, expect, it } from 'vitest';
import { consoleAvailable, consolePath, pluginFolderCandidates } from './console';

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

describe('pluginFolderCandidates', () => {
  it("puts the folders named like the plugin first, whatever Headlamp's kind of folder", () => {
    expect(
      pluginFolderCandidates([
        { path: 'plugins/cert-manager', type: 'development', name: 'cert-manager' },
        { path: 'user-plugins/vmplane', type: 'user', name: 'vmplane' },
        { path: 'static-plugins/vmplane-prerelease', type: 'shipped', name: 'vmplane-prerelease' },
      ])
    ).toEqual(['user-plugins/vmplane', 'static-plugins/vmplane-prerelease', 'plugins/vmplane']);
  });
  it('accepts a list of plain paths, and falls back to plugins/vmplane', () => {
    expect(pluginFolderCandidates(['plugins/vmplane/'])).toEqual(['plugins/vmplane']);
    expect(pluginFolderCandidates(undefined)).toEqual(['plugins/vmplane']);
    expect(pluginFolderCandidates({ error: 'nope' })).toEqual(['plugins/vmplane']);
  });
  it('ignores entries that are not paths or climb out of the app', () => {
    expect(pluginFolderCandidates([{ path: 42 }, null, { path: '../vmplane' }])).toEqual([
      'plugins/vmplane',
    ]);
  });
});
