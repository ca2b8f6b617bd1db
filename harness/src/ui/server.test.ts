import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { headersFrom, iconifyAnswer, safeJoin } from './server.ts';

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

describe('headersFrom', () => {
  it("drops this hop's headers and the browser's credentials, and sends the kubeconfig's token", () => {
    const h = headersFrom(
      {
        headers: {
          accept: 'application/json',
          cookie: 'vmplane-ui-token-4466=x',
          authorization: 'Bearer from-the-page',
          host: '127.0.0.1:4466',
        },
      },
      { headers: { Authorization: 'Bearer from-the-kubeconfig' } },
    );
    expect(h).toEqual({ accept: 'application/json', authorization: 'Bearer from-the-kubeconfig' });
    expect(headersFrom({ headers: { authorization: 'Bearer x' } }, {})).toEqual({});
  });
});
