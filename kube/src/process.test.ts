import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isProgram, stopOnSignals } from './process.ts';

describe('isProgram', () => {
  const url = pathToFileURL('/app/webhooks/src/main.ts').href;

  it('is the program when node was started with this file', () => {
    expect(isProgram(url, '/webhooks/src/main.ts', '/app/webhooks/src/main.ts')).toBe(true);
  });

  it('is not the program when imported by another, or when started with nothing', () => {
    expect(isProgram(url, '/webhooks/src/main.ts', '/app/cli/src/serve.ts')).toBe(false);
    expect(isProgram(url, '/webhooks/src/main.ts', undefined)).toBe(false);
  });

  it('is not the program in a bundle whose modules all share the bundle URL', () => {
    const bundle = pathToFileURL('/app/dist/vmplane.mjs').href;
    expect(isProgram(bundle, '/webhooks/src/main.ts', '/app/dist/vmplane.mjs')).toBe(false);
  });
});

describe('stopOnSignals', () => {
  afterEach(() => {
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGINT');
  });

  it('stops once on the first signal, then exits 0', async () => {
    let stops = 0;
    const exits: number[] = [];
    stopOnSignals(
      async () => {
        stops++;
      },
      (code) => exits.push(code),
    );
    process.emit('SIGTERM');
    process.emit('SIGINT');
    await new Promise((r) => setImmediate(r));
    expect(stops).toBe(1);
    expect(exits).toEqual([0]);
  });
});
