import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { guestAccepted, userModeNetwork } from './user-mode.ts';

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});
async function dialTo(onConnection: (s: Socket) => void): Promise<Socket> {
  const server = createServer(onConnection);
  servers.push(server);
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
  });
}

describe('guestAccepted', () => {
  it('a connection closed at once (QEMU, when the guest refused) is refused', async () => {
    expect(await guestAccepted(await dialTo((s) => s.end()), 500)).toBe(false);
  });
  it('a connection that holds, or that brings data, is accepted; the data stays to be read', async () => {
    expect(await guestAccepted(await dialTo(() => undefined), 100)).toBe(true);
    const s = await dialTo((x) => x.write('SSH-2.0-x\r\n'));
    expect(await guestAccepted(s, 2000)).toBe(true);
    const first = await new Promise<string>((r) => s.once('data', (b: Buffer) => r(String(b))));
    expect(first).toBe('SSH-2.0-x\r\n');
    s.destroy();
  });
});

describe('userModeNetwork', () => {
  const net = userModeNetwork(() => undefined);
  it('has no node network to run commands or rules in, and says so', async () => {
    expect(net.mode).toBe('user-mode');
    await expect(net.nft('table ip x {}')).rejects.toThrow(
      /user-mode networking .* there is no node network to load nftables rules/,
    );
    await expect(net.exec(['ip', 'link'])).rejects.toThrow(/no node network to run ip link in/);
  });
  it('names the VMI that is not running', async () => {
    await expect(net.connectGuest({ namespace: 'ns', name: 'vm' }, 22)).rejects.toThrow(
      'VMI ns/vm is not running on this node',
    );
  });
});
