import { describe, expect, it } from 'vitest';
import { forwardState, userModeNetwork } from './user-mode.ts';

// What QEMU 7.2's `info usernet` printed in test/engine/portforward.test.ts (a forward on 41993 whose
// connection the guest took, one on 43503 it never answered, a closed one on 45193).
const USERNET = [
  'Hub -1 (net0):',
  '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ',
  '  TCP[ESTABLISHED]   18       127.0.0.1 41993       10.0.2.15  8080     0     0',
  '  TCP[HOST_FORWARD]  11       127.0.0.1 41993       10.0.2.15  8080     0     0',
  '  TCP[HOST_FORWARD]  12       127.0.0.1 43181       10.0.2.15     9     0     0',
  '  TCP[CLOSE_WAIT]    25       127.0.0.1 45193       10.0.2.15  8080     0     0',
  '  TCP[SYN_SENT]      21       127.0.0.1 43503       10.0.2.15  8080     0     0',
  '',
].join('\r\n');

describe('forwardState', () => {
  it('a connection the guest took, in any state after the handshake, is connected', () => {
    expect(forwardState(USERNET, 41993)).toBe('connected');
    expect(forwardState(USERNET, 45193)).toBe('connected');
  });
  it('one still waiting for the guest is connecting', () => {
    expect(forwardState(USERNET, 43503)).toBe('connecting');
  });
  it('one QEMU no longer lists (the guest refused it) is gone; a forward alone is no connection', () => {
    expect(forwardState(USERNET, 43181)).toBe('gone');
    expect(forwardState(USERNET, 4199)).toBe('gone');
    expect(forwardState('', 41993)).toBe('gone');
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
