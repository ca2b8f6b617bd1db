import { describe, expect, it } from 'vitest';
import { actionButtons, actionRequest, DESTRUCTIVE } from './requests';

describe('actionRequest', () => {
  it('starts, stops, pauses and resumes by a merge patch of spec.powerState', () => {
    const cases = [
      ['start', 'PoweredOn'],
      ['stop', 'PoweredOff'],
      ['pause', 'Suspended'],
      ['resume', 'PoweredOn'],
    ] as const;
    for (const [action, state] of cases) {
      const r = actionRequest(action, 'team-a', 'web');
      expect(r.method).toBe('PATCH');
      expect(r.path).toBe('/apis/vmplane.io/v1alpha1/namespaces/team-a/virtualmachines/web');
      expect(r.contentType).toBe('application/merge-patch+json');
      expect(r.body).toEqual({ spec: { powerState: state } });
      expect(r.access).toEqual({
        group: 'vmplane.io',
        resource: 'virtualmachines',
        verb: 'patch',
        namespace: 'team-a',
        name: 'web',
      });
    }
  });
  it("restarts through KubeVirt's restart subresource, asking RBAC about that subresource", () => {
    const r = actionRequest('restart', 'team-a', 'web');
    expect(r.method).toBe('PUT');
    expect(r.path).toBe(
      '/apis/subresources.kubevirt.io/v1/namespaces/team-a/virtualmachines/web/restart'
    );
    expect(r.access).toMatchObject({
      group: 'subresources.kubevirt.io',
      resource: 'virtualmachines',
      subresource: 'restart',
      verb: 'update',
    });
  });
  it('escapes names in the path', () => {
    expect(actionRequest('start', 'a b', 'x/y').path).toContain(
      '/namespaces/a%20b/virtualmachines/x%2Fy'
    );
  });
});

describe('actionButtons', () => {
  const all = { start: true, stop: true, restart: true, pause: true, resume: true };
  const enabled = (status: string) =>
    actionButtons(status, all, false)
      .filter(b => b.enabled)
      .map(b => b.action);

  it('follows the state matrix', () => {
    expect(enabled('Running')).toEqual(['stop', 'restart', 'pause']);
    expect(enabled('Stopped')).toEqual(['start']);
    expect(enabled('Paused')).toEqual(['start', 'restart', 'resume']);
    expect(enabled('Stopping')).toEqual([]);
    expect(enabled('Provisioning')).toEqual(['stop']);
    expect(enabled('ErrorUnschedulable')).toEqual(['start', 'stop', 'restart']);
  });
  it('offers Resume instead of Pause when paused', () => {
    expect(actionButtons('Paused', all, false).map(b => b.action)).toEqual([
      'start',
      'stop',
      'restart',
      'resume',
    ]);
  });
  it('hides what RBAC refuses and everything until RBAC has answered', () => {
    const b = actionButtons(
      'Running',
      { start: true, stop: false, restart: true, pause: true },
      false
    );
    expect(b.filter(x => x.visible).map(x => x.action)).toEqual(['start', 'restart', 'pause']);
    expect(actionButtons('Running', undefined, false).some(x => x.visible)).toBe(false);
  });
  it('disables every button while a request is under way', () => {
    expect(actionButtons('Running', all, true).some(x => x.enabled)).toBe(false);
  });
  it('asks before stopping or restarting only', () => {
    expect([...DESTRUCTIVE].sort()).toEqual(['restart', 'stop']);
  });
});
