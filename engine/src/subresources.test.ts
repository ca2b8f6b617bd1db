import { describe, expect, it } from 'vitest';
import {
  discovery,
  forbiddenMessage,
  remoteUser,
  requestOptions,
  route,
  SERVED,
  status,
} from './subresources.ts';

const base = '/apis/subresources.kubevirt.io/v1/namespaces/demo';

describe('route', () => {
  it('maps each served path to the attributes KubeVirt’s ClusterRoles grant', () => {
    const r = route('GET', `${base}/virtualmachineinstances/web-1/console`);
    expect(r).toEqual({
      ok: true,
      route: {
        namespace: 'demo',
        name: 'web-1',
        resource: 'virtualmachineinstances',
        operation: 'console',
        stream: true,
        access: {
          namespace: 'demo',
          name: 'web-1',
          verb: 'get',
          group: 'subresources.kubevirt.io',
          version: 'v1',
          resource: 'virtualmachineinstances',
          subresource: 'console',
        },
      },
    });
    const restart = route('PUT', `${base}/virtualmachines/web-1/restart`);
    expect(restart.ok && restart.route.access).toMatchObject({
      verb: 'update',
      resource: 'virtualmachines',
      subresource: 'restart',
    });
    const shot = route('GET', `${base}/virtualmachineinstances/web-1/vnc/screenshot`);
    expect(shot.ok && shot.route).toMatchObject({ stream: false, operation: 'vnc/screenshot' });
  });

  it('refuses unknown paths with what is served, and the wrong method with the right one', () => {
    const unknown = route('PUT', `${base}/virtualmachineinstances/web-1/bogus`);
    expect(unknown).toMatchObject({ ok: false, code: 404 });
    expect(unknown.ok || unknown.message).toContain('virtualmachineinstances/NAME/pause');
    // KubeVirt's own subresources the engine does not serve say so, rather than a bare 404.
    const freeze = route('PUT', `${base}/virtualmachineinstances/web-1/freeze`);
    expect(freeze).toMatchObject({ ok: false, code: 404 });
    expect(freeze.ok || freeze.message).toContain(
      "virtualmachineinstances/freeze is a KubeVirt v1.7 subresource that vmplane's local engine does not serve yet",
    );
    expect(route('GET', `${base}/virtualmachineinstances/web-1/pause`)).toMatchObject({
      ok: false,
      code: 405,
      message: 'virtualmachineinstances/pause accepts PUT, not GET',
    });
    expect(route('GET', '/apis/other/v1/x')).toMatchObject({ ok: false, code: 404 });
    expect(route('PUT', `${base}/virtualmachines//start`)).toMatchObject({ ok: false, code: 404 });
  });
});

describe('discovery', () => {
  it('lists the group, its version and every served subresource', () => {
    expect(discovery('/apis')).toMatchObject({
      kind: 'APIGroupList',
      groups: [{ name: 'subresources.kubevirt.io' }],
    });
    expect(discovery('/apis/subresources.kubevirt.io/')).toMatchObject({ kind: 'APIGroup' });
    const list = discovery('/apis/subresources.kubevirt.io/v1') as {
      resources: { name: string }[];
    };
    expect(list.resources.map((r) => r.name)).toEqual(
      SERVED.map((s) => `${s.resource}/${s.operation}`),
    );
    expect(discovery('/apis/subresources.kubevirt.io/v2')).toBeUndefined();
  });
});

describe('remoteUser', () => {
  it('reads the user, every group and the extras the front proxy sends', () => {
    expect(
      remoteUser({
        'x-remote-user': ['alice'],
        'x-remote-group': ['dev', 'system:authenticated'],
        'x-remote-extra-scopes%2fa': ['one', 'two'],
        'x-other': ['x'],
      }),
    ).toEqual({
      user: 'alice',
      groups: ['dev', 'system:authenticated'],
      extra: { 'scopes/a': ['one', 'two'] },
    });
    expect(remoteUser({ 'x-remote-group': ['dev'] })).toBeUndefined();
  });
});

describe('messages', () => {
  it('phrases a refusal as kube-apiserver does, and wraps errors in a Status', () => {
    const r = route('GET', `${base}/virtualmachineinstances/web-1/vnc`);
    if (!r.ok) throw new Error('no route');
    expect(forbiddenMessage({ user: 'bob', groups: [], extra: {} }, r.route)).toBe(
      'virtualmachineinstances.subresources.kubevirt.io "web-1" is forbidden: User "bob" cannot get resource "virtualmachineinstances/vnc" in API group "subresources.kubevirt.io" in the namespace "demo"',
    );
    expect(status(409, 'VMI demo/web-1 is not paused')).toMatchObject({
      kind: 'Status',
      code: 409,
      reason: 'Conflict',
    });
  });
});

describe('requestOptions', () => {
  it('reads what virtctl sends: dry run, paused, the grace periods; an empty body is none', () => {
    expect(requestOptions('')).toEqual({ ok: true, options: {} });
    expect(requestOptions('{"dryRun":["All"],"paused":true}')).toEqual({
      ok: true,
      options: { dryRun: true, paused: true },
    });
    expect(requestOptions('{"gracePeriod":0}')).toEqual({ ok: true, options: { gracePeriod: 0 } });
    expect(requestOptions('{"gracePeriodSeconds":0}')).toEqual({
      ok: true,
      options: { gracePeriodSeconds: 0 },
    });
  });
  it('refuses a body it cannot read, naming the field, the value and what is accepted', () => {
    expect(requestOptions('{')).toMatchObject({ ok: false });
    const r = requestOptions('{"gracePeriod":"soon"}');
    expect(r.ok || r.message).toContain(
      'gracePeriod: "soon" is not accepted: a whole number of seconds',
    );
    expect(requestOptions('{"dryRun":"All"}')).toMatchObject({ ok: false });
  });
});

describe('portforward routes', () => {
  it('takes a port and an optional protocol, on instances and on VMs', () => {
    const vmi = route('GET', `${base}/virtualmachineinstances/web-1/portforward/22`);
    expect(vmi.ok && vmi.route).toMatchObject({
      operation: 'portforward',
      stream: true,
      forward: { port: 22, protocol: 'tcp' },
      access: { verb: 'get', resource: 'virtualmachineinstances', subresource: 'portforward' },
    });
    const vm = route('GET', `${base}/virtualmachines/web/portforward/53/udp`);
    expect(vm.ok && vm.route).toMatchObject({
      resource: 'virtualmachines',
      forward: { port: 53, protocol: 'udp' },
    });
  });
  it('refuses a bad port or protocol naming it, and a missing port', () => {
    expect(route('GET', `${base}/virtualmachineinstances/web-1/portforward/70000`)).toEqual({
      ok: false,
      code: 400,
      message: 'portforward: port "70000" is not accepted: a port number from 1 to 65535',
    });
    expect(route('GET', `${base}/virtualmachineinstances/web-1/portforward/22/sctp`)).toEqual({
      ok: false,
      code: 400,
      message: 'portforward: protocol "sctp" is not accepted: tcp or udp',
    });
    expect(route('GET', `${base}/virtualmachineinstances/web-1/portforward`)).toMatchObject({
      ok: false,
      code: 404,
    });
  });
});
