import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { iconifyAnswer, route, safeJoin } from './server.ts';

describe('route', () => {
  it("sends the cluster's paths to the API server, with their query", () => {
    expect(
      route('/clusters/sandbox/apis/vmplane.io/v1alpha1/virtualmachines?watch=1', 'sandbox'),
    ).toEqual({
      kind: 'api',
      path: '/apis/vmplane.io/v1alpha1/virtualmachines?watch=1',
    });
  });
  it("does not proxy another cluster's paths", () => {
    expect(route('/clusters/other/api/v1/pods', 'sandbox')).toEqual({
      kind: 'page',
      file: 'clusters/other/api/v1/pods',
    });
  });
  it("serves the plugin's files, the plugin list, and the page for everything else", () => {
    expect(route('/plugins/vmplane/xterm.js', 'sandbox')).toEqual({
      kind: 'plugin',
      file: 'xterm.js',
    });
    expect(route('/plugins', 'sandbox')).toEqual({ kind: 'plugins' });
    expect(route('/c/sandbox/vmplane/vms?x=1', 'sandbox')).toEqual({
      kind: 'page',
      file: 'c/sandbox/vmplane/vms',
    });
  });
});

describe('iconifyAnswer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmplane-icons-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(dir, { recursive: true });
  // The shape of @iconify/icons-mdi's files: a JSON object assigned to `data`.
  writeFileSync(
    join(dir, 'server.js'),
    `const data = ${JSON.stringify({ width: 24, height: 24, body: '<path d="M1 1"/>' }, null, '\t')};\nexports.default = data;\n`,
  );

  it('answers the icons it has and lists the ones it has not', () => {
    const a = iconifyAnswer(dir, new URL('http://x/iconify/mdi.json?icons=server,nope')) as {
      icons: Record<string, unknown>;
      not_found?: string[];
    };
    expect(a.icons).toEqual({ server: { width: 24, height: 24, body: '<path d="M1 1"/>' } });
    expect(a.not_found).toEqual(['nope']);
  });
});

describe('route, malformed', () => {
  it('answers a malformed percent-escape instead of throwing', () => {
    expect(route('/%E0%A4%A', 'sandbox')).toEqual({
      kind: 'malformed',
      message: 'path "/%E0%A4%A" has a malformed percent-escape',
    });
  });
});

describe('safeJoin', () => {
  it('keeps files inside the folder, not in a sibling whose name starts like it', () => {
    expect(safeJoin('/srv/dist', 'assets/a.js')).toBe('/srv/dist/assets/a.js');
    expect(safeJoin('/srv/dist', '../dist-x/secret.txt')).toBeUndefined();
    expect(safeJoin('/srv/dist', '../dist/a.js')).toBe('/srv/dist/a.js');
    expect(safeJoin('/srv/dist', '/etc/passwd')).toBeUndefined();
    expect(safeJoin('/srv/dist', '..')).toBeUndefined();
    expect(safeJoin('/srv/dist', '')).toBeUndefined();
    // A file whose name starts with two dots is still inside.
    expect(safeJoin('/srv/dist', '..a.js')).toBe('/srv/dist/..a.js');
  });
});
