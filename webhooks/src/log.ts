// The webhooks' log: one decision line per admission. Buffered up to 4 KB and written at least
// every second, so under load one write carries many lines (on a busy node the API server needs
// the CPU more than the log needs a syscall per line). flush() writes what is buffered, at exit.
import pino, { type Logger } from 'pino';

export function bufferedLogger(
  name: string,
  dest: number | string = 1,
  everyMs = 1000,
): { logger: Logger; flush(): void } {
  const out = pino.destination({ dest, sync: false, minLength: 4096 });
  const timer = setInterval(() => out.flush(), everyMs);
  timer.unref();
  return {
    logger: pino({ name }, out),
    flush() {
      clearInterval(timer);
      out.flushSync();
    },
  };
}
