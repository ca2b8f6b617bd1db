import { describe, expect, it } from 'vitest';
import { decide, routeOf, type DecideConfig, type RequestFacts } from './decide.ts';
import { parseTarget, type Target } from './target.ts';

const TOKEN = 'b'.repeat(32);
const config: DecideConfig = {
  token: TOKEN,
  port: 4466,
  clusterName: 'sandbox',
  api: 'https://127.0.0.1:6443',
  override: { prefix: '/apis/subresources.kubevirt.io/', target: 'https://127.0.0.1:7443' },
  iconify: true,
};
const facts = (url: string, more: Partial<RequestFacts> = {}): RequestFacts => ({
  method: 'GET',
  url,
  host: '127.0.0.1:4466',
  origin: undefined,
  cookie: `vmplane-ui-token-4466=${TOKEN}`,
  upgrade: false,
  secFetchSite: undefined,
  secFetchMode: undefined,
  secFetchDest: undefined,
  ...more,
});
const target = (raw: string): Target => {
  const p = parseTarget(raw);
  if (!p.ok) throw new Error(p.message);
  return p.target;
};

describe('routeOf', () => {
  it("sends the cluster's paths to the API server, canonical", () => {
    expect(
      routeOf(target('/clusters/sandbox/apis/vmplane.io/v1alpha1/x'), 'sandbox', true),
    ).toEqual({ kind: 'api', path: '/apis/vmplane.io/v1alpha1/x' });
    expect(routeOf(target('/clusters/sandbox'), 'sandbox', true)).toEqual({
      kind: 'api',
      path: '/',
    });
  });
  it("serves another cluster's paths, the plugin and the rest as files", () => {
    expect(routeOf(target('/clusters/other/api/v1/pods'), 'sandbox', true)).toEqual({
      kind: 'file',
      folder: 'harness',
      file: 'clusters/other/api/v1/pods',
      fallback: 'index.html',
    });
    expect(routeOf(target('/plugins/vmplane/xterm.js'), 'sandbox', true)).toEqual({
      kind: 'file',
      folder: 'plugin',
      file: 'xterm.js',
    });
    expect(routeOf(target('/plugins'), 'sandbox', true)).toEqual({ kind: 'plugins' });
    expect(routeOf(target('/iconify/mdi.json'), 'sandbox', true)).toEqual({ kind: 'iconify' });
    expect(routeOf(target('/iconify/mdi.json'), 'sandbox', false)).toMatchObject({ kind: 'file' });
  });
});

describe('decide', () => {
  it('forwards an API path to the one upstream URL it names', () => {
    const d = decide(facts('/clusters/sandbox/api/v1/namespaces?watch=1'), config);
    expect(d).toMatchObject({ action: 'proxy', to: 'api' });
    expect(d.action === 'proxy' && d.url.href).toBe(
      'https://127.0.0.1:6443/api/v1/namespaces?watch=1',
    );
    const o = decide(facts('/clusters/sandbox/apis/subresources.kubevirt.io/v1/x'), config);
    expect(o.action === 'proxy' && [o.to, o.url.origin]).toEqual([
      'override',
      'https://127.0.0.1:7443',
    ]);
  });

  it('refuses the raw-path attack, and restores it only with the tests-only switch', () => {
    const attack = facts('/clusters/sandbox//127.0.0.1:9443/../../api');
    expect(decide(attack, config)).toMatchObject({ action: 'refuse', code: 400 });
    const unsafe = decide(attack, { ...config, unsafeRawUpstreamPath: true });
    expect(unsafe.action === 'proxy' && unsafe.url.origin).toBe('https://127.0.0.1:9443');
  });

  it('refuses a websocket to anything but the API', () => {
    expect(
      decide(facts('/c/sandbox', { upgrade: true, origin: 'http://127.0.0.1:4466' }), config),
    ).toEqual({ action: 'refuse', code: 404, message: 'websockets go to /clusters/sandbox/ only' });
  });
});
