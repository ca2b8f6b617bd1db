// Who may use the sandbox's UI server. It forwards requests to the API server with the sandbox's
// admin credentials, so, as Headlamp's own backend does, it admits only its own page: a Host it
// serves (no DNS rebinding), an Origin of its own (no cross-site websocket or write), and a
// random token made at each start, carried by the printed URL once and then by an HttpOnly,
// SameSite=Strict cookie. Pure: the server gathers the request's facts and acts on the answer.

export const TOKEN_COOKIE = 'vmplane-ui-token';
export const TOKEN_PARAM = 'token';

export interface GuardFacts {
  /** The Host header. */
  host: string | undefined;
  /** The Origin header, when the browser sent one. */
  origin: string | undefined;
  /** The canonical path (target.ts: parsed once, so nothing in it can be normalized away). */
  path: string;
  /** The query, without its `?`. */
  query: string;
  cookie: string | undefined;
  /** A websocket upgrade. */
  upgrade: boolean;
}

/** What the guard knows of this start of the server. */
export interface GuardConfig {
  token: string;
  port: number;
}

export type GuardAnswer =
  | { action: 'pass' }
  /** The token came in the URL: set the cookie and send the browser to the same URL without it. */
  | { action: 'set-cookie'; location: string }
  | { action: 'refuse'; code: 400 | 401 | 403; message: string };

/** The Host values this server answers to: its loopback names, with its port. */
export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
}

function cookieValue(cookie: string | undefined, name: string): string | undefined {
  for (const part of (cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** Compares without leaking the token's prefix through timing. */
function same(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export function guard(f: GuardFacts, { token, port }: GuardConfig): GuardAnswer {
  const hosts = allowedHosts(port);
  if (!f.host || !hosts.includes(f.host.toLowerCase())) {
    return {
      action: 'refuse',
      code: 403,
      message: `host "${f.host ?? ''}" is not served here; open http://${hosts[0]}/`,
    };
  }
  if (f.origin !== undefined && !hosts.some((h) => f.origin === `http://${h}`)) {
    return { action: 'refuse', code: 403, message: `origin "${f.origin}" may not use this server` };
  }
  if (f.upgrade && f.origin === undefined) {
    return { action: 'refuse', code: 403, message: 'a websocket needs an Origin of this server' };
  }
  if (same(cookieValue(f.cookie, TOKEN_COOKIE), token)) return { action: 'pass' };
  const params = new URLSearchParams(f.query);
  if (!f.upgrade && same(params.get(TOKEN_PARAM) ?? undefined, token)) {
    params.delete(TOKEN_PARAM);
    const rest = params.toString();
    // The canonical path has no `//`: the location cannot name another host.
    return { action: 'set-cookie', location: `${f.path}${rest ? `?${rest}` : ''}` };
  }
  return {
    action: 'refuse',
    code: 401,
    message: "open the UI address that npm start printed: it carries this start's token",
  };
}

/** The cookie that carries the token after the first page load. */
export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict`;
}
