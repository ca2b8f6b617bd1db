// What jsdom lacks and the Headlamp lib touches while loading: a canvas context (xterm measures
// colours with one) and matchMedia (MUI). Without these, every file logs "Not implemented".
HTMLCanvasElement.prototype.getContext = (() =>
  null) as typeof HTMLCanvasElement.prototype.getContext;
if (!window.matchMedia)
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => undefined,
      removeListener: () => undefined,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
      dispatchEvent: () => false,
    } as MediaQueryList);

/**
 * Headlamp opens a websocket per watch. msw (2.4) does not answer websockets, and jsdom's real
 * WebSocket would try the network; this one records the URL and stays connecting, so lists show
 * what the GET returned. `openedSockets` lets a test assert that a watch was asked for.
 */
export const openedSockets: string[] = [];
class QuietWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly readyState: number = 0;
  binaryType = 'blob';
  onopen = null;
  onmessage = null;
  onerror = null;
  onclose = null;
  constructor(readonly url: string, readonly protocol?: string | string[]) {
    super();
    openedSockets.push(url);
  }
  send(): void {}
  close(): void {}
}
globalThis.WebSocket = QuietWebSocket as unknown as typeof WebSocket;
