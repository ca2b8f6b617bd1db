import { describe, expect, it } from 'vitest';
import { guard, tokenCookie, tokenCookieName, type GuardFacts } from './guard.ts';

const TOKEN = 'a'.repeat(32);
const C = { token: TOKEN, port: 4466 };
const ok: GuardFacts = {
  host: '127.0.0.1:4466',
  origin: undefined,
  path: '/c/sandbox/vmplane/vms',
  query: '',
  cookie: `vmplane-ui-token-4466=${TOKEN}`,
  upgrade: false,
  api: false,
  secFetchSite: undefined,
  secFetchMode: undefined,
  secFetchDest: undefined,
};
/** What the page's own fetch of the API sends. */
const fetched: GuardFacts = {
  ...ok,
  path: '/clusters/sandbox/api/v1/pods',
  api: true,
  secFetchSite: 'same-origin',
  secFetchMode: 'cors',
  secFetchDest: 'empty',
};
const PASS = { action: 'pass' };

describe('guard', () => {
  it('passes its own page with the cookie', () => {
    expect(guard(ok, C)).toEqual(PASS);
    expect(guard({ ...ok, host: 'localhost:4466', origin: 'http://localhost:4466' }, C)).toEqual(
      PASS,
    );
    expect(guard(fetched, C)).toEqual(PASS);
  });

  it('refuses a foreign Host (DNS rebinding)', () => {
    expect(guard({ ...ok, host: 'evil.example:4466' }, C)).toEqual({
      action: 'refuse',
      code: 403,
      message: 'host "evil.example:4466" is not served here; open http://127.0.0.1:4466/',
    });
    expect(guard({ ...ok, host: '127.0.0.1:80' }, C)).toMatchObject({ code: 403 });
    expect(guard({ ...ok, host: undefined }, C)).toMatchObject({ code: 403 });
  });

  it("refuses an Origin other than the Host's own, and a websocket with no Origin", () => {
    expect(guard({ ...ok, origin: 'https://evil.example', upgrade: true }, C)).toEqual({
      action: 'refuse',
      code: 403,
      message: 'origin "https://evil.example" may not use this server',
    });
    // Another loopback port, another loopback name, an opaque origin.
    for (const origin of ['http://127.0.0.1:3000', 'http://localhost:4466', 'null'])
      expect(guard({ ...ok, origin }, C), origin).toMatchObject({ code: 403 });
    expect(guard({ ...ok, upgrade: true, api: true }, C)).toEqual({
      action: 'refuse',
      code: 403,
      message: 'a websocket needs an Origin of this server',
    });
    expect(guard({ ...ok, upgrade: true, api: true, origin: 'http://127.0.0.1:4466' }, C)).toEqual(
      PASS,
    );
  });

  it('refuses what the browser says comes from another site or port (Sec-Fetch-Site)', () => {
    expect(guard({ ...fetched, secFetchSite: 'same-site' }, C)).toEqual({
      action: 'refuse',
      code: 403,
      message: 'Sec-Fetch-Site "same-site": only this server\'s own page may use it',
    });
    for (const site of ['cross-site', 'same-site', 'weird', ''])
      for (const f of [ok, fetched])
        expect(guard({ ...f, secFetchSite: site }, C), site).toMatchObject({ code: 403 });
  });

  it('accepts Sec-Fetch-Site "none" only for opening a page', () => {
    const typed = {
      ...ok,
      secFetchSite: 'none',
      secFetchMode: 'navigate',
      secFetchDest: 'document',
    };
    expect(guard(typed, C)).toEqual(PASS);
    expect(guard({ ...fetched, secFetchSite: 'none' }, C)).toEqual({
      action: 'refuse',
      code: 403,
      message: 'Sec-Fetch-Site "none" is accepted only when the UI address is opened as a page',
    });
    expect(guard({ ...typed, secFetchMode: 'no-cors' }, C)).toMatchObject({ code: 403 });
    expect(guard({ ...typed, secFetchDest: 'image' }, C)).toMatchObject({ code: 403 });
  });

  it("keeps the API for the page's fetch and websockets: no <img>, <script> or navigation", () => {
    expect(guard({ ...fetched, secFetchMode: 'no-cors', secFetchDest: 'image' }, C)).toEqual({
      action: 'refuse',
      code: 403,
      message: 'Sec-Fetch-Mode "no-cors": the API is for the page\'s fetch and websockets',
    });
    for (const dest of ['image', 'script', 'style', 'iframe', 'document', 'websocket'])
      expect(guard({ ...fetched, secFetchDest: dest }, C), dest).toMatchObject({ code: 403 });
    expect(guard({ ...fetched, secFetchMode: 'navigate' }, C)).toMatchObject({ code: 403 });
    const ws = {
      ...fetched,
      upgrade: true,
      origin: 'http://127.0.0.1:4466',
      secFetchMode: 'websocket',
      secFetchDest: 'websocket',
    };
    expect(guard(ws, C)).toEqual(PASS);
    expect(guard({ ...ws, secFetchMode: 'cors' }, C)).toMatchObject({ code: 403 });
    // curl and older browsers send none of these: the token decides.
    expect(
      guard(
        { ...fetched, secFetchSite: undefined, secFetchMode: undefined, secFetchDest: undefined },
        C,
      ),
    ).toEqual(PASS);
  });

  it('without the token: 401; with it in the URL: set the cookie and drop it from the URL', () => {
    expect(guard({ ...ok, cookie: undefined }, C)).toEqual({
      action: 'refuse',
      code: 401,
      message: "open the UI address that npm start printed: it carries this start's token",
    });
    expect(guard({ ...ok, cookie: 'vmplane-ui-token-4466=wrong' }, C)).toMatchObject({ code: 401 });
    expect(guard({ ...ok, cookie: `vmplane-ui-token-4467=${TOKEN}` }, C)).toMatchObject({
      code: 401,
    });
    expect(guard({ ...ok, cookie: `vmplane-ui-token=${TOKEN}` }, C)).toMatchObject({ code: 401 });
    // A cookie of the same name tossed in from another port does not shadow the real one.
    expect(
      guard({ ...ok, cookie: `vmplane-ui-token-4466=x; vmplane-ui-token-4466=${TOKEN}` }, C),
    ).toEqual(PASS);
    expect(guard({ ...ok, cookie: undefined, query: `token=${TOKEN}&x=1` }, C)).toEqual({
      action: 'set-cookie',
      location: '/c/sandbox/vmplane/vms?x=1',
    });
    // A websocket or an API path cannot bring the token in its URL: only the cookie counts.
    const inUrl = { ...fetched, cookie: undefined, query: `token=${TOKEN}` };
    expect(guard(inUrl, C)).toMatchObject({ code: 401 });
    expect(
      guard(
        { ...inUrl, upgrade: true, origin: 'http://127.0.0.1:4466', secFetchMode: 'websocket' },
        C,
      ),
    ).toMatchObject({ code: 401 });
    expect(tokenCookieName(4466)).toBe('vmplane-ui-token-4466');
    expect(tokenCookie(TOKEN, 4466)).toBe(
      `vmplane-ui-token-4466=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`,
    );
  });
});
