import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bufferedLogger } from './log.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmplane-log-'));
  dirs.push(dir);
  return join(dir, 'webhooks.log');
}

const lines = (file: string): { msg: string; n?: number }[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; n?: number });

describe('the webhooks log', () => {
  it('holds short lines back, and writes every one of them, in order, on flush', async () => {
    const file = tempFile();
    const log = bufferedLogger('test', file, 60_000);
    for (let n = 0; n < 3; n++) log.logger.info({ n }, 'admission decision');
    // Time enough for an unbuffered write to land; these stay in the buffer.
    await new Promise((r) => setTimeout(r, 300));
    expect(readFileSync(file, 'utf8')).toBe('');
    log.flush();
    expect(lines(file).map((l) => l.n)).toEqual([0, 1, 2]);
  });

  it('writes a lone line within a second or so, without a flush', async () => {
    const file = tempFile();
    const log = bufferedLogger('test', file);
    log.logger.info('webhooks ready');
    await expect
      .poll(() => lines(file).map((l) => l.msg), { timeout: 5000 })
      .toEqual(['webhooks ready']);
    log.flush();
  });
});
