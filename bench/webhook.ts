// The webhook alone (BENCH_ONLY=webhook): HTTPS load straight at the admission servers of
// bench/servers.ts, each in its own process. vmplane's server with 0, 10 and 50 policies beside the
// no-op floor (the same Node, express, JSON and TLS, answering without looking): latency at three
// concurrencies, the server's CPU per request, and the p99 ratio to the floor at 1,000 req/s.
import autocannon from 'autocannon';
import { ratio, round, stats, type Stats } from './measure.ts';
import { readFileSync } from 'node:fs';
import { cpuMs, rssMb, startBenchServer } from './processes.ts';
import { benchVm } from './world.ts';
import { admissionReview } from '../test/support/builders.ts';

function review(uid: string): string {
  return JSON.stringify(
    admissionReview({
      uid,
      namespace: 'bench',
      name: 'web',
      object: benchVm('web') as unknown as Record<string, unknown>,
      userInfo: { username: 'bench' },
    }),
  );
}

/** A process and its descendants (the server's CEL engine processes count as its CPU). */
function tree(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number);
  } catch {
    // gone
  }
  return [pid, ...kids.flatMap(tree)];
}

/** A figure summed over a process and its descendants (one that ended meanwhile counts 0). */
function overTree(pid: number, figure: (pid: number) => number): number {
  return tree(pid).reduce((sum, p) => {
    try {
      return sum + figure(p);
    } catch {
      return sum; // ended meanwhile
    }
  }, 0);
}

const treeCpuMs = (pid: number): number => overTree(pid, cpuMs);
/** Resident memory of the server and its CEL engine processes, summed (shared pages count twice). */
const treeRssMb = (pid: number): number => overTree(pid, rssMb);

export async function load(
  port: number,
  connections: number,
  seconds: number,
  overallRate?: number,
): Promise<Stats> {
  const times: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const instance = autocannon({
    url: `https://127.0.0.1:${port}/validate`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: review('bench-uid'),
    connections,
    duration: seconds,
    ...(overallRate ? { overallRate } : {}),
    tlsOptions: { rejectUnauthorized: false },
    // Every answer must be an allow: a denial (a CEL time budget run past, say) is an error.
    verifyBody: (body: string) => body.includes('"allowed":true'),
  } as never) as unknown as Promise<unknown> & {
    on(ev: 'response', cb: (c: unknown, status: number, bytes: number, ms: number) => void): void;
    on(ev: 'reqMismatch', cb: (body: string) => void): void;
  };
  instance.on('reqMismatch', (body: string) => {
    firstError ??= `a review was not allowed: ${body.slice(0, 1000)}`;
  });
  instance.on('response', (_c: unknown, status: number, _b: number, ms: number) => {
    if (status === 200) times.push(ms);
    else {
      errors++;
      firstError ??= `HTTP ${status} from the webhook on port ${port}`;
    }
  });
  const result = (await instance) as unknown as {
    errors: number;
    timeouts: number;
    mismatches: number;
  };
  if (result.errors + result.timeouts)
    firstError ??= `${result.errors} connection errors, ${result.timeouts} timeouts (port ${port})`;
  const failed = errors + result.errors + result.timeouts + result.mismatches;
  // A refused answer still came with status 200: it is among the failed, not the timed.
  return stats(times.slice(0, times.length - result.mismatches), seconds, failed, firstError);
}

export async function webhookAlone(): Promise<Record<string, unknown>> {
  const rows: Record<string, unknown>[] = [];
  const configs: [string, string[]][] = [
    ['no-op floor', ['noop']],
    ['vmplane, 0 policies', ['vmplane', '0']],
    ['vmplane, 10 policies', ['vmplane', '10']],
    ['vmplane, 50 policies', ['vmplane', '50']],
  ];
  const fixed: Record<string, Stats> = {};
  const rssAfterLoadMb: Record<string, number> = {};
  for (const [name, args] of configs) {
    const { child, port } = await startBenchServer(args);
    await load(port, 16, 2); // warm-up (JIT, TLS sessions)
    for (const c of [1, 16, 64]) {
      const cpu0 = treeCpuMs(child.pid ?? 0);
      const s = await load(port, c, 4);
      // The server's CPU time per answered request (user + system, whole process and the CEL
      // engine processes it runs).
      const cpuMsPerRequest = round((treeCpuMs(child.pid ?? 0) - cpu0) / Math.max(1, s.n), 3);
      rows.push({ server: name, concurrency: c, ...s, cpuMsPerRequest });
      console.log(
        `webhook  ${name.padEnd(22)} c=${String(c).padEnd(3)} p50 ${s.p50} ms  p95 ${s.p95} ms  p99 ${s.p99} ms  ${s.rps} req/s  errors ${s.errors}  CPU ${cpuMsPerRequest} ms/request`,
      );
    }
    if (name === 'no-op floor' || name === 'vmplane, 50 policies') {
      fixed[name] = await load(port, 16, 5, 1000);
      console.log(`webhook  ${name.padEnd(22)} at 1000 req/s: p99 ${fixed[name]?.p99} ms`);
    }
    rssAfterLoadMb[name] = treeRssMb(child.pid ?? 0);
    console.log(`webhook  ${name.padEnd(22)} RSS after the load ${rssAfterLoadMb[name]} MB`);
    child.kill('SIGKILL');
  }
  const p99Ratio = ratio(fixed['vmplane, 50 policies']?.p99 ?? 0, fixed['no-op floor']?.p99 ?? 0);
  return { rows, at1000rps: fixed, p99RatioAt1000rps: p99Ratio, rssAfterLoadMb };
}
