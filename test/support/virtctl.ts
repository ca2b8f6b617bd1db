// Running KubeVirt's virtctl (built by harness/src/controlplane/virtctl.ts) from tests: to its end
// with what it printed, in the background, or as a console session without a terminal. Every
// process started here is remembered until it exits, so a test can stop whatever is left.
import { spawn, type ChildProcess } from 'node:child_process';

export interface VirtctlResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** How long the command took. */
  ms: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Virtctl {
  private readonly children = new Set<ChildProcess>();

  /**
   * @param bin the virtctl binary
   * @param kubeconfig the kubeconfig it uses (also as $KUBECONFIG, for commands run by a shell)
   * @param home its $HOME (a temp folder: nothing of the user's is read or written)
   */
  constructor(
    readonly bin: string,
    readonly kubeconfig: string,
    private readonly home: string,
  ) {}

  /** The environment virtctl runs in: no proxy settings, a HOME of its own. */
  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: this.home, KUBECONFIG: this.kubeconfig };
    for (const k of Object.keys(env)) if (/_proxy$/i.test(k)) delete env[k];
    return env;
  }

  /** Any command, in that environment; remembered until it exits. */
  spawnCommand(command: string, args: string[]): ChildProcess {
    const child = spawn(command, args, { env: this.env(), stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  spawn(args: string[]): ChildProcess {
    return this.spawnCommand(this.bin, ['--kubeconfig', this.kubeconfig, ...args]);
  }

  /** Runs virtctl to its end (stdin closed; killed after 90 s). */
  run(...args: string[]): Promise<VirtctlResult> {
    const started = Date.now();
    const child = this.spawn(args);
    child.stdin?.end();
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    return new Promise((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      }),
    );
  }

  /**
   * A console session as a user without a terminal has it: the command's stdin is a pipe kept
   * open (virtctl ends the session at the end of its input); once `connected` is on stderr, a
   * newline every 2 s until `prompt` shows, then `probe` typed until `answer` shows, then Ctrl+]
   * (0x1d), which must end it.
   */
  async console(
    command: string[],
    s: { connected: string; prompt: string; probe: string; answer: string },
  ): Promise<VirtctlResult> {
    const started = Date.now();
    const child = this.spawnCommand(command[0] ?? 'sh', command.slice(1));
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString('latin1')));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    let exited: number | null | undefined;
    const closed = new Promise<number | null>((r) =>
      child.on('close', (c) => {
        exited = c;
        r(c);
      }),
    );
    // Waits for `ok`, giving up at once when the command ends first.
    const wait = async (what: string, ok: () => boolean, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      for (;;) {
        if (ok()) return;
        const why =
          exited !== undefined
            ? `the command ended (exit ${exited})`
            : Date.now() > deadline
              ? `timed out after ${ms / 1000} s`
              : undefined;
        if (why)
          throw new Error(
            `${why} waiting for ${what}\nstdout:\n${stdout.slice(-2000)}\nstderr:\n${stderr}`,
          );
        await sleep(200);
      }
    };
    try {
      await wait('the console connected', () => stderr.includes(s.connected), 240_000);
      let nudged = 0;
      await wait(
        'the shell prompt',
        () => {
          if (Date.now() - nudged > 2_000) {
            child.stdin?.write('\n');
            nudged = Date.now();
          }
          return stdout.includes(s.prompt);
        },
        180_000,
      );
      const from = stdout.length;
      child.stdin?.write(`${s.probe}\n`);
      await wait(`"${s.answer}"`, () => stdout.slice(from).includes(s.answer), 60_000);
      child.stdin?.write(Buffer.from([0x1d]));
      const code = await Promise.race([closed, sleep(15_000).then(() => 'running' as const)]);
      if (code === 'running') throw new Error('the console did not end on Ctrl+]');
      return { code, stdout, stderr, ms: Date.now() - started };
    } finally {
      child.kill('SIGKILL');
    }
  }

  /** Kills every process started here that is still running. */
  killAll(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }
}
