// A guest's serial console through the API server, as `kubectl vm console` opens it
// (subresources.kubevirt.io, websocket protocol plain.kubevirt.io), for tests of a sandbox.
import type { KubeConfig } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { consoleUrl } from '../../cli/src/kubectl-vm/console.ts';
import { waitUntil } from '../../kube/src/client.ts';

export interface Console {
  /** Everything the console has shown since it opened (it starts with the guest's last 16 KiB). */
  text(): string;
  type(s: string): void;
  close(): void;
}

export async function openConsole(
  kc: KubeConfig,
  ns: string,
  name: string,
  headers: Record<string, string> = {},
): Promise<Console> {
  const opts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(opts as never);
  const server = kc.getCurrentCluster()?.server ?? '';
  const ws = new WebSocket(consoleUrl(server, ns, name), ['plain.kubevirt.io'], {
    ...(opts as WebSocket.ClientOptions),
    headers,
  });
  let out = '';
  ws.on('message', (d: Buffer) => (out += d.toString('latin1')));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => reject(new Error(`HTTP ${res.statusCode}: ${body}`)));
    });
    ws.once('error', reject);
  });
  return { text: () => out, type: (s) => ws.send(Buffer.from(s)), close: () => ws.close() };
}

/**
 * Types a command once the console shows `prompt`, and resolves with what followed once `answer`
 * appears (120 s at most for each). `guest` says what the guest printed, for the error.
 */
export async function ask(
  kc: KubeConfig,
  vm: { ns: string; name: string; prompt: string },
  command: string,
  answer: string,
  guest: () => string = () => '(not known)',
): Promise<string> {
  const c = await openConsole(kc, vm.ns, vm.name);
  const until = (what: string, ok: () => string | undefined): Promise<string> =>
    waitUntil(what, async () => ok(), 120_000, 200);
  try {
    await until('the shell prompt', () => (c.text().includes(vm.prompt) ? 'ok' : undefined)).catch(
      (e: Error) => {
        throw new Error(
          `${e.message}; the console showed:\n${c.text().slice(-1500)}\nthe guest printed:\n${guest().slice(-1500)}`,
        );
      },
    );
    const from = c.text().length;
    c.type(`${command}\n`);
    return await until(`"${answer}" on the console`, () => {
      const tail = c.text().slice(from);
      return tail.includes(answer) ? tail : undefined;
    });
  } finally {
    c.close();
  }
}
