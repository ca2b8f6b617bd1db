// Who may use the sandbox's UI server. It forwards requests to the API server with the sandbox's
// admin credentials, so, as Headlamp's own backend does, it admits only its own page. Pure: the
// server gathers the request's facts (decide.ts) and acts on the answer. The rules, in order:
//
// 1. Host: one of the server's loopback names with its port (127.0.0.1, localhost, [::1]);
//    anything else is DNS rebinding or a mistake: 403.
// 2. Origin, when sent: exactly `http://<the Host>`; any other origin, `null` included: 403.
// 3. Sec-Fetch-Site, when sent (every current browser sends it on every request):
//    `same-origin` passes; `none` (the user typed or opened the address) passes only for the
//    top-level navigation of a page: not an API path, not a websocket, Sec-Fetch-Mode `navigate`
//    and Sec-Fetch-Dest `document` when sent. `same-site` (a page on another loopback port:
//    SameSite ignores ports), `cross-site` and anything else: 403.
// 4. API paths (/clusters/<cluster>/...) are for the page's scripts only: Sec-Fetch-Mode, when
//    sent, `cors` or `same-origin` (fetch, XHR) or `websocket` for an upgrade, and Sec-Fetch-Dest
//    `empty` (or `websocket` for an upgrade); an <img>, <script>, <iframe> or navigation (no-cors,
//    navigate; image, script, document...) is refused: 403. A websocket must send an Origin.
// 5. The token, random at each start: the cookie `vmplane-ui-token-<port>` (the port in its
//    name, since cookies are not separated by port: another server on the same host, or a
//    second UI server, cannot be confused with this one's) must hold it; any cookie of that name
//    with the token passes, so a cookie tossed in by another port cannot shadow the real one.
//    The printed address brings the token once in its query, for a page only (not an API path,
//    not a websocket): the answer sets the HttpOnly, SameSite=Strict cookie and sends the browser
//    to the same address without it. Without the token: 401.
//
// Requests without Sec-Fetch-* headers (curl, older browsers) are judged by rules 1, 2 and 5:
// the token is what a foreign page cannot have.

/** The cookie name's stem; the name is tokenCookieName(port). */
export const TOKEN_COOKIE = 'vmplane-ui-token';
export const TOKEN_PARAM = 'token';

/** The name of the token's cookie for the server on `port`. */
export function tokenCookieName(port: number): string {
  return `${TOKEN_COOKIE}-${port}`;
}

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
  /** The path goes to the API server (/clusters/<cluster>/...). */
  api: boolean;
  secFetchSite: string | undefined;
  secFetchMode: string | undefined;
  secFetchDest: string | undefined;
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

function cookieValues(cookie: string | undefined, name: string): string[] {
  const values: string[] = [];
  for (const part of (cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) values.push(v.join('='));
  }
  return values;
}

/** Compares without leaking the token's prefix through timing. */
function same(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const forbid = (message: string): GuardAnswer => ({ action: 'refuse', code: 403, message });

/** Rule 3: the browser's own word on where the request comes from; undefined when it may go on. */
function fetchSite(f: GuardFacts): GuardAnswer | undefined {
  const site = f.secFetchSite;
  if (site === undefined || site === 'same-origin') return undefined;
  if (site === 'none') {
    const navigation =
      !f.api &&
      !f.upgrade &&
      (f.secFetchMode ?? 'navigate') === 'navigate' &&
      (f.secFetchDest ?? 'document') === 'document';
    if (navigation) return undefined;
    return forbid('Sec-Fetch-Site "none" is accepted only when the UI address is opened as a page');
  }
  return forbid(`Sec-Fetch-Site "${site}": only this server's own page may use it`);
}

/** Rule 4: API paths answer the page's scripts, not an <img>, <script> or navigation. */
function apiFetch(f: GuardFacts): GuardAnswer | undefined {
  if (!f.api) return undefined;
  const modes = f.upgrade ? ['websocket'] : ['cors', 'same-origin'];
  const dests = f.upgrade ? ['websocket', 'empty'] : ['empty'];
  if (f.secFetchMode !== undefined && !modes.includes(f.secFetchMode))
    return forbid(
      `Sec-Fetch-Mode "${f.secFetchMode}": the API is for the page's fetch and websockets`,
    );
  if (f.secFetchDest !== undefined && !dests.includes(f.secFetchDest))
    return forbid(
      `Sec-Fetch-Dest "${f.secFetchDest}": the API is for the page's fetch and websockets`,
    );
  return undefined;
}

export function guard(f: GuardFacts, { token, port }: GuardConfig): GuardAnswer {
  const hosts = allowedHosts(port);
  const host = f.host?.toLowerCase();
  if (host === undefined || !hosts.includes(host))
    return forbid(`host "${f.host ?? ''}" is not served here; open http://${hosts[0]}/`);
  if (f.origin !== undefined && f.origin.toLowerCase() !== `http://${host}`)
    return forbid(`origin "${f.origin}" may not use this server`);
  const refused = fetchSite(f) ?? apiFetch(f);
  if (refused) return refused;
  if (f.upgrade && f.origin === undefined)
    return forbid('a websocket needs an Origin of this server');
  if (cookieValues(f.cookie, tokenCookieName(port)).some((v) => same(v, token)))
    return { action: 'pass' };
  const params = new URLSearchParams(f.query);
  if (!f.upgrade && !f.api && same(params.get(TOKEN_PARAM) ?? undefined, token)) {
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
export function tokenCookie(token: string, port: number): string {
  return `${tokenCookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`;
}
