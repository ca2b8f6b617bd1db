// The agent's framing (pure), and the one promise the client makes about time: a guest that does
// not answer costs at most the deadline, never a hang.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { frame, GuestAgent } from './guest-agent.ts';

const b = (s: string | number[]): Buffer =>
  typeof s === 'string' ? Buffer.from(s) : Buffer.from(s);

describe('framing', () => {
  it('drops everything before the 0xFF while resyncing (late answers, old bytes)', () => {
    const data = Buffer.concat([b('{"return": 7}\n{"ret'), b([0xff]), b('{"return": 42}\n')]);
    expect(frame(data, true)).toEqual({
      messages: [{ return: 42 }],
      rest: b(''),
      resyncing: false,
    });
  });
  it('keeps waiting for the 0xFF, and keeps a partial message for the next bytes', () => {
    expect(frame(b('{"return": 7}\n'), true)).toEqual({
      messages: [],
      rest: b(''),
      resyncing: true,
    });
    const f = frame(b('{"return": {}}\n{"return": [1,'), false);
    expect(f.messages).toEqual([{ return: {} }]);
    expect(f.rest.toString()).toBe('{"return": [1,');
  });
  it('drops lines that are not JSON', () => {
    expect(frame(b('garbage\n{"error": {"class": "X"}}\n'), false).messages).toEqual([
      { error: { class: 'X' } },
    ]);
  });
});

describe('a guest that does not answer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmplane-agent-'));
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s)); // reads, never writes
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails each command at its deadline, and the next one too', async () => {
    const path = join(dir, 'ga.sock');
    await new Promise<void>((r) => silent.listen(path, r));
    const agent = new GuestAgent(path, { syncTimeoutMs: 300, commandTimeoutMs: 300 });
    const started = Date.now();
    await expect(agent.execute('guest-ping')).rejects.toThrow(
      /no answer to guest-sync-delimited \(id \d+\) within \d+ ms/,
    );
    await expect(agent.execute('guest-info')).rejects.toThrow(/within \d+ ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
    agent.close(true);
    await expect(agent.execute('guest-ping')).rejects.toThrow(/the connection is closed/);
  });

  it('fails at once when nothing listens', async () => {
    const agent = new GuestAgent(join(dir, 'none.sock'), { syncTimeoutMs: 300 });
    await expect(agent.execute('guest-ping')).rejects.toThrow(/ENOENT/);
  });
});
