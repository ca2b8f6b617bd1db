import { describe, expect, it } from 'vitest';
import { guard, tokenCookie, type GuardFacts } from './guard.ts';

const TOKEN = 'a'.repeat(32);
const C = { token: TOKEN, port: 4466 };
const ok: GuardFacts = {
  host: '127.0.0.1:4466',
  origin: undefined,
  path: '/c/sandbox/vmplane/vms',
  query: '',
  cookie: `vmplane-ui-token=${TOKEN}`,
  upgrade: false,
};

describe('guard', () => {
  it('passes its own page with the cookie', () => {
    expect(guard(ok, C)).toEqual({ action: 'pass' });
    expect(guard({ ...ok, host: 'localhost:4466', origin: 'http://localhost:4466' }, C)).toEqual({
      action: 'pass',
    });
  });

  it('refuses a foreign Host (DNS rebinding)', () => {
    expect(guard({ ...ok, host: 'evil.example:4466' }, C)).toEqual({
      action: 'refuse',
      code: 403,
      message: 'host "evil.example:4466" is not served here; open http://127.0.0.1:4466/',
    });
    expect(guard({ ...ok, host: '127.0.0.1:80' }, C)).toMatchObject({
      action: 'refuse',
      code: 403,
    });
    expect(guard({ ...ok, host: undefined }, C)).toMatchObject({
      action: 'refuse',
      code: 403,
    });
  });

  it('refuses a foreign Origin, and a websocket with no Origin', () => {
    expect(guard({ ...ok, origin: 'https://evil.example', upgrade: true }, C)).toEqual({
      action: 'refuse',
      code: 403,
      message: 'origin "https://evil.example" may not use this server',
    });
    expect(guard({ ...ok, upgrade: true }, C)).toEqual({
      action: 'refuse',
      code: 403,
      message: 'a websocket needs an Origin of this server',
    });
    expect(guard({ ...ok, upgrade: true, origin: 'http://127.0.0.1:4466' }, C)).toEqual({
      action: 'pass',
    });
  });

  it('without the token: 401; with it in the URL: set the cookie and drop it from the URL', () => {
    expect(guard({ ...ok, cookie: undefined }, C)).toEqual({
      action: 'refuse',
      code: 401,
      message: "open the UI address that npm start printed: it carries this start's token",
    });
    expect(guard({ ...ok, cookie: 'vmplane-ui-token=wrong' }, C)).toMatchObject({
      action: 'refuse',
      code: 401,
    });
    expect(guard({ ...ok, cookie: undefined, query: `token=${TOKEN}&x=1` }, C)).toEqual({
      action: 'set-cookie',
      location: '/c/sandbox/vmplane/vms?x=1',
    });
    // A websocket cannot bring the token in its URL: only the cookie counts.
    expect(
      guard(
        {
          ...ok,
          cookie: undefined,
          upgrade: true,
          origin: 'http://127.0.0.1:4466',
          path: '/clusters/sandbox/api',
          query: `token=${TOKEN}`,
        },
        C,
      ),
    ).toMatchObject({ action: 'refuse', code: 401 });
    expect(tokenCookie(TOKEN)).toBe(`vmplane-ui-token=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`);
  });
});
