import { describe, expect, it } from 'vitest';
import { KUBEVIRT_VERSION } from './conformance.ts';
import {
  recipe,
  toolsGo,
  VIRTCTL_PACKAGE,
  virtctlDir,
  virtctlGoMod,
  virtctlLdflags,
} from './virtctl.ts';

describe('the virtctl build', () => {
  it('keys the cache by release and by recipe, the same on every call', () => {
    const dir = virtctlDir('/c');
    expect(dir).toMatch(new RegExp(`^/c/bin/virtctl-v${KUBEVIRT_VERSION}-[0-9a-f]{8}$`));
    expect(virtctlDir('/c')).toBe(dir);
    expect(virtctlDir('/c', '1.6.0')).not.toBe(dir);
    expect(recipe('1.7.0')).toContain(`${VIRTCTL_PACKAGE}@v1.7.0`);
  });

  it('names the main package in a file only go mod tidy reads', () => {
    const go = toolsGo();
    expect(go.startsWith('//go:build tools\n')).toBe(true);
    expect(go).toContain('package tools');
    expect(go).toContain(`import _ "${VIRTCTL_PACKAGE}"`);
  });

  it('stamps the release as KubeVirt does, with commit and date when known', () => {
    expect(virtctlLdflags('1.7.0')).toBe(
      '-s -w -X kubevirt.io/client-go/version.gitVersion=v1.7.0',
    );
    const full = virtctlLdflags('1.7.0', { commit: 'abc123', time: '2025-11-26T10:00:00.5Z' });
    expect(full).toContain('-X kubevirt.io/client-go/version.gitCommit=abc123');
    expect(full).toContain('-X kubevirt.io/client-go/version.gitTreeState=clean');
    expect(full).toContain('-X kubevirt.io/client-go/version.buildDate=2025-11-26T10:00:00Z');
    expect(virtctlLdflags('1.7.0', { time: 'not a date' })).not.toContain('buildDate');
  });

  it('requires the release and its staging modules, with its replaces, in a module of its own', () => {
    const upstream = [
      'module kubevirt.io/kubevirt',
      '',
      'go 1.24.0',
      '',
      'replace (',
      '\tkubevirt.io/api => ./staging/src/kubevirt.io/api',
      '\tkubevirt.io/client-go => ./staging/src/kubevirt.io/client-go',
      '\tk8s.io/client-go => k8s.io/client-go v0.33.5',
      ')',
      '',
    ].join('\n');
    const mod = virtctlGoMod(upstream);
    expect(mod).toContain('module vmplane.local/virtctl\n');
    expect(mod).toContain('go 1.24.0');
    expect(mod).toContain(`\tkubevirt.io/kubevirt v${KUBEVIRT_VERSION}\n`);
    expect(mod).toContain(`\tkubevirt.io/api => kubevirt.io/api v${KUBEVIRT_VERSION}\n`);
    expect(mod).toContain('\tk8s.io/client-go => k8s.io/client-go v0.33.5\n');
  });
});
