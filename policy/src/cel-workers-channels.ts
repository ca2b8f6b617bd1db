// How CelWorkers talks to one copy of the Kubernetes CEL engine: a native process (the engine
// built for this machine, policy/kcel/native.go) with framed calls over its stdin and stdout. One
// call runs at a time, answers come back in order, and `end` stops it for good.
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { CelLimits } from './kcel.ts';
import { AnswerReader, encodeRequest, type Op } from './kcel-frames.ts';

/** What a copy of the engine says: its limits once ready, or an answer. */
export interface EngineMessage {
  id?: number;
  out?: string;
  ready?: CelLimits;
}

export interface ChannelEvents {
  message(m: EngineMessage): void;
  /** It ended or broke: every call it holds is lost. */
  gone(why: string): void;
}

export interface EngineChannel {
  send(id: number, op: Op, args: readonly string[]): void;
  end(): Promise<void>;
}

function unref(s: Readable | Writable | null): void {
  (s as unknown as { unref?: () => void } | null)?.unref?.();
}

/**
 * The native program (`binary`) as a child process. It dies with this process (it ends when its
 * stdin closes, and the kernel kills it when its parent dies); `end` kills it.
 */
export function processChannel(binary: string, on: ChannelEvents): EngineChannel {
  const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  // Like a worker, the process must not keep a finished Node process alive; only a call it has
  // not answered yet (or its start) keeps this one waiting for it.
  child.unref();
  [child.stdin, child.stderr].forEach(unref);
  let waiting = 1;
  const settle = (): void => {
    if (--waiting === 0) unref(child.stdout);
  };
  const reader = new AnswerReader();
  let stderr = '';
  let ready = false;
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  child.stdout.on('data', (b: Buffer) => {
    let answers;
    try {
      answers = reader.push(b);
    } catch (e) {
      on.gone((e as Error).message);
      child.kill('SIGKILL');
      return;
    }
    for (const a of answers) {
      settle();
      if (a.id === 0) {
        ready = true;
        on.message({ ready: JSON.parse(a.json) as CelLimits });
      } else on.message({ id: a.id, out: a.json });
    }
  });
  // A write to a process that just died fails here; its exit says why.
  child.stdin.on('error', () => undefined);
  child.on('error', (e) =>
    on.gone(
      ready
        ? `the CEL engine process failed: ${e.message}`
        : `the CEL engine ${binary} did not start: ${e.message}`,
    ),
  );
  child.on('exit', (code, signal) => {
    const how = signal ? `was killed (${signal})` : `exited (${code})`;
    const tail = stderr.trim() ? `: ${stderr.trim()}` : '';
    on.gone(`the CEL engine process ${how}${tail}`);
  });
  return {
    send: (id, op, args) => {
      if (waiting++ === 0) (child.stdout as unknown as { ref(): void }).ref();
      child.stdin.write(encodeRequest(id, op, args));
    },
    end: async () => {
      // Waiting for the exit keeps this process alive until it comes.
      child.ref();
      (child.stdout as unknown as { ref(): void }).ref();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (child.pid !== undefined) await exited;
    },
  };
}
