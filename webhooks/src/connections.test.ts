import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { ConnectionGuard, pendingToEvict, securedFits, silentTooLong } from './connections.ts';

describe('connection limits', () => {
  it('makes room for a new connection by closing the oldest pending ones', () => {
    expect(pendingToEvict(0, 4)).toBe(0);
    expect(pendingToEvict(3, 4)).toBe(0);
    expect(pendingToEvict(4, 4)).toBe(1);
    expect(pendingToEvict(10, 4)).toBe(7);
  });

  it('counts only connections past their handshake toward the session limit', () => {
    expect(securedFits(1_023, 1_024)).toBe(true);
    expect(securedFits(1_024, 1_024)).toBe(false);
  });

  it('closes a connection that has sent nothing once its time is up', () => {
    expect(silentTooLong(0, 1_999, 2_000)).toBe(false);
    expect(silentTooLong(0, 2_000, 2_000)).toBe(true);
    expect(silentTooLong(1, 60_000, 2_000)).toBe(false);
  });

  it('on real sockets: keeps the newest pending connections and closes silent ones', async () => {
    const guard = new ConnectionGuard({ maxSecured: 10, maxPending: 4, firstByteMs: 300 });
    const server = createServer((s) => guard.opened(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const clients: { s: Socket; closed: boolean }[] = [];
    for (let i = 0; i < 10; i++) {
      const c = { s: connect({ host: '127.0.0.1', port }), closed: false };
      c.s.on('error', () => undefined);
      c.s.on('close', () => (c.closed = true));
      await new Promise<void>((r) => c.s.once('connect', () => r()));
      clients.push(c);
    }
    // One of the survivors speaks: it is not silent.
    clients[9]?.s.write('x');
    // Closes reach the clients asynchronously: wait for them (a loaded machine is slow), but the
    // survivors must never be among the first closed.
    const closed = (): boolean[] => clients.map((c) => c.closed);
    await vi.waitFor(() => expect(closed().slice(0, 6)).toEqual(Array(6).fill(true)), 5_000);
    expect(guard.closed.evictedPending).toBe(6);
    await vi.waitFor(() => expect(closed()).toEqual([...Array(9).fill(true), false]), 5_000);
    expect(guard.closed.silent).toBe(3);
    for (const c of clients) c.s.destroy();
    server.close();
  });
});
