// A client of the QEMU guest agent on the guest's virtio-serial port, as libvirt speaks to it
// (libvirt's src/qemu/qemu_agent.c, which KubeVirt v1.7's virt-launcher uses): before each command
// a `guest-sync-delimited` with a random id, preceded by a 0xFF byte so that the agent's parser
// starts afresh; the agent answers with 0xFF and then the id, and everything before that (late
// answers to commands that timed out, bytes left from an agent that restarted) is dropped. Then
// the command, one at a time. Every read has a deadline: nothing waits on a guest forever.
import { randomInt } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** The byte that resets the agent's parser and marks the start of its answer to a sync. */
const DELIMITER = 0xff;
const NEWLINE = 0x0a;

/** What the agent's framing gives: whole JSON messages, and the bytes not yet whole. */
export interface Framed {
  messages: unknown[];
  rest: Buffer;
  /** Still dropping bytes until the agent's 0xFF (after a sync was sent). */
  resyncing: boolean;
}

/**
 * Splits what the agent sent into JSON messages (pure). While resyncing, bytes up to and including
 * the first 0xFF are dropped; a 0xFF elsewhere ends a message as a newline does. A line that is
 * not JSON is dropped (the agent writes nothing else, but the port may hold old bytes).
 */
export function frame(data: Buffer, resyncing: boolean): Framed {
  let buf = data;
  if (resyncing) {
    const ff = buf.indexOf(DELIMITER);
    if (ff < 0) return { messages: [], rest: Buffer.alloc(0), resyncing: true };
    buf = buf.subarray(ff + 1);
  }
  const messages: unknown[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b !== NEWLINE && b !== DELIMITER) continue;
    const line = buf.subarray(start, i).toString('utf8').trim();
    start = i + 1;
    if (!line) continue;
    try {
      messages.push(JSON.parse(line));
    } catch {
      // not a message: dropped
    }
  }
  return { messages, rest: Buffer.from(buf.subarray(start)), resyncing: false };
}

/** The agent answered with an error (its class and description). */
export class AgentCommandError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    desc: string,
  ) {
    super(`guest agent ${command}: ${errorClass}: ${desc}`);
  }
}

export interface GuestAgentOptions {
  /** How long a guest-sync may take (3 s by default; guests under TCG are slow). */
  syncTimeoutMs?: number;
  /** How long a command may take once synced (10 s by default). */
  commandTimeoutMs?: number;
}

type Waiter = { accept: (m: unknown) => boolean; resolve: (m: unknown) => void };

/**
 * One connection to the agent's socket (QEMU listens on it and takes one client). Commands are
 * queued and sent one at a time. A closed connection is opened again by the next command.
 */
export class GuestAgent {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private resyncing = false;
  private waiter: Waiter | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly path: string,
    private readonly options: GuestAgentOptions = {},
  ) {}

  private async open(deadline: number): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const socket = await withDeadline(
      new Promise<Socket>((resolve, reject) => {
        const s = connect(this.path, () => resolve(s));
        s.once('error', reject);
      }),
      deadline,
      `connecting to ${this.path}`,
    );
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
    });
    socket.on('data', (b: Buffer) => this.received(b));
    this.buffer = Buffer.alloc(0);
    this.socket = socket;
    return socket;
  }

  private received(b: Buffer): void {
    const f = frame(Buffer.concat([this.buffer, b]), this.resyncing);
    this.buffer = f.rest;
    this.resyncing = f.resyncing;
    for (const m of f.messages) {
      const w = this.waiter;
      if (w?.accept(m)) {
        this.waiter = undefined;
        w.resolve(m);
      }
    }
  }

  /** The next message `accept` takes, or a rejection at the deadline. */
  private next(accept: (m: unknown) => boolean, deadline: number, what: string): Promise<unknown> {
    return withDeadline(
      new Promise<unknown>((resolve) => (this.waiter = { accept, resolve })),
      deadline,
      what,
    ).finally(() => (this.waiter = undefined));
  }

  private async once(command: string, args: object | undefined, timeoutMs?: number) {
    if (this.closed) throw new Error(`guest agent ${command}: the connection is closed`);
    const syncDeadline = Date.now() + (this.options.syncTimeoutMs ?? 3_000);
    const socket = await this.open(syncDeadline);
    const id = randomInt(1, 2 ** 31);
    this.resyncing = true;
    const synced = this.next(
      (m) => (m as { return?: unknown }).return === id,
      syncDeadline,
      `guest-sync-delimited (id ${id})`,
    );
    socket.write(
      Buffer.concat([
        Buffer.from([DELIMITER]),
        Buffer.from(`${JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } })}\n`),
      ]),
    );
    await synced;
    const deadline = Date.now() + (timeoutMs ?? this.options.commandTimeoutMs ?? 10_000);
    const answer = this.next(
      (m) => typeof m === 'object' && m !== null && ('return' in m || 'error' in m),
      deadline,
      command,
    );
    socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
    const m = (await answer) as { return?: unknown; error?: { class?: string; desc?: string } };
    if (m.error) throw new AgentCommandError(command, m.error.class ?? '', m.error.desc ?? '');
    return m.return;
  }

  /** Syncs, then runs the command; its `return`, or an error (the agent's, or a timeout). */
  execute<T = unknown>(command: string, args?: object, timeoutMs?: number): Promise<T> {
    const run = this.queue.then(() => this.once(command, args, timeoutMs));
    this.queue = run.catch(() => undefined);
    return run as Promise<T>;
  }

  /** Closes the connection (a later command opens a new one unless `forever`). */
  close(forever = false): void {
    if (forever) this.closed = true;
    this.socket?.destroy();
    this.socket = undefined;
  }
}

/** The promise's value, or a rejection naming `what` once the deadline passed. */
function withDeadline<T>(p: Promise<T>, deadline: number, what: string): Promise<T> {
  const ms = Math.max(0, deadline - Date.now());
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`guest agent: no answer to ${what} within ${ms} ms`)),
      ms,
    );
    timer.unref();
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
