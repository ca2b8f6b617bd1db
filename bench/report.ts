// The report of a run: results.json's figures as markdown, a table or a paragraph per section
// that ran, each figure beside its baseline and its target. Written to results.md and printed.

import { round } from './measure.ts';
import { fig, targetRow, TARGETS, withTarget } from './targets.ts';

type Json = Record<string, any>;

/** The markdown of results.json: the machine, the targets, then each section that ran. */
export function table(r: Json): string {
  return [
    `Machine: ${r.machine.cpu} (${r.machine.cores} cores), Node ${r.machine.node}, ${r.machine.date}`,
    '',
    ...targetsTable(r),
    ...(r.webhook ? webhookTable(r.webhook) : []),
    ...(r.calls ? callsTable(r.calls) : []),
    ...(r.endToEnd ? endToEndTable(r.endToEnd) : []),
    ...(r.startup ? startupLine(r.startup) : []),
    ...(r.controllers ? controllersTable(r.controllers) : []),
    ...(r.kubevirtAdmission ? kubevirtAdmissionTable(r.kubevirtAdmission) : []),
    ...(r.sandbox ? sandboxTable(r.sandbox) : []),
    ...(r.plugin ? pluginTable(r.plugin) : []),
  ].join('\n');
}

/** The webhook alone: latency and CPU by server and concurrency, and the p99 ratio at 1,000 req/s. */
function webhookTable(w: Json): string[] {
  return [
    '| Webhook alone (HTTPS, keep-alive) | concurrency | p50 ms | p95 ms | p99 ms | req/s | server CPU ms/request |',
    '|---|---|---|---|---|---|---|',
    ...w.rows.map(
      (x: Json) =>
        `| ${x.server} | ${x.concurrency} | ${x.p50} | ${x.p95} | ${x.p99} | ${x.rps} | ${x.cpuMsPerRequest} |`,
    ),
    '',
    `At 1,000 req/s (16 connections): no-op p99 ${w.at1000rps['no-op floor'].p99} ms, vmplane with 50 policies p99 ${w.at1000rps['vmplane, 50 policies'].p99} ms: ratio ${withTarget(w.p99RatioAt1000rps, TARGETS.webhookP99At1000)}. RSS after the load: ${Object.entries(
      w.rssAfterLoadMb ?? {},
    )
      .map(([k, v]) => `${k} ${v} MB`)
      .join(', ')}.`,
    '',
  ];
}

/** CPU per request at 16 connections of a server of the webhook table. */
function cpuAt16(w: Json, server: string): number {
  return fig(
    w.rows.find((x: Json) => x.server === server && x.concurrency === 16)?.cpuMsPerRequest,
    `${server} CPU per request at c=16`,
  );
}

/** Every figure with a target, beside it, met or missed: the sections that ran. */
function targetsTable(r: Json): string[] {
  const rows: string[] = [];
  const w = r.webhook;
  if (w) {
    const ratio = round(cpuAt16(w, 'vmplane, 50 policies') / cpuAt16(w, 'no-op floor'), 2);
    rows.push(
      targetRow(
        'webhook CPU per request, 50 policies / no-op floor (c=16)',
        ratio,
        TARGETS.webhookCpuPerRequest,
      ),
      targetRow(
        'webhook p99 at 1,000 req/s, 50 policies / no-op floor',
        w.p99RatioAt1000rps,
        TARGETS.webhookP99At1000,
      ),
      targetRow(
        'webhook RSS, 50 policies, after the load',
        w.rssAfterLoadMb?.['vmplane, 50 policies'],
        TARGETS.webhookRssMb,
      ),
    );
  }
  if (r.startup)
    rows.push(
      targetRow(
        'webhook start to /readyz, existing certificate',
        r.startup.existingCertificateMs,
        TARGETS.webhookReadyExistingCertMs,
      ),
    );
  for (const s of r.endToEnd?.sizes ?? [])
    rows.push(
      targetRow(
        `${s.policies} policies: creates/s, generation on / VAPs + zero-policy webhooks`,
        s.ratios.createsPerSecond,
        TARGETS.e2eCreatesPerSecond,
      ),
      targetRow(
        `${s.policies} policies: create p99, generation on / VAPs + zero-policy webhooks`,
        s.ratios.createP99,
        TARGETS.e2eCreateP99,
      ),
    );
  for (const c of r.controllers?.rows ?? [])
    rows.push(
      targetRow(
        `controllers converge ${c.vms} VMs / plain-client floor`,
        c.ratio,
        TARGETS.controllersRatio,
      ),
    );
  if (r.controllers)
    rows.push(
      targetRow(
        `controllers RSS, ${r.controllers.rss.vmsCached} VMs cached`,
        r.controllers.rss.rssMb,
        TARGETS.controllersRssMb,
      ),
    );
  if (r.sandbox)
    rows.push(
      targetRow(
        'npm start to ready (no engine)',
        round(r.sandbox.floorReadyMs / 1000, 1),
        TARGETS.sandboxReadyS,
      ),
      targetRow(
        'npm start to demo/tiny-1 Running',
        round(r.sandbox.vmRunningMs / 1000, 1),
        TARGETS.sandboxRunningS,
      ),
    );
  if (r.plugin)
    rows.push(
      targetRow(`plugin: ${r.plugin.vms} VMs listed`, r.plugin.openMs, TARGETS.pluginListMs),
    );
  if (!rows.length) return [];
  return ['| Figure | Measured | Target | |', '|---|---|---|---|', ...rows, ''];
}

const E2E_MODES = [
  ['none', 'no webhooks'],
  ['vap', 'floor: the rules as hand-written VAPs, no webhooks'],
  ['vapWebhooks', 'the VAPs + vmplane webhooks holding no policy'],
  ['generationOff', 'vmplane, generation off (all rules in the webhook)'],
  ['generationOn', 'vmplane, generation on (generated VAPs)'],
] as const;

/** Through kube-apiserver: each policy count's five modes, and generation on against its target. */
function endToEndTable(e: Json): string[] {
  return e.sizes.flatMap((s: Json) => [
    `| Through kube-apiserver: ${s.policies} policies, ${e.requests} VMs, concurrency ${e.concurrency} | create p50 ms | create p99 ms | creates/s | update p50 ms | update p99 ms | updates/s | webhook CPU ms/write |`,
    '|---|---|---|---|---|---|---|---|',
    ...E2E_MODES.map(([k, name]) => {
      const x = s.modes[k];
      const cpu = x.webhookCpuMsPerWrite === undefined ? '' : x.webhookCpuMsPerWrite;
      return `| ${name} | ${x.create.p50} | ${fig(x.create.p99, `${k} create p99`)} | ${fig(x.create.rps, `${k} creates/s`)} | ${x.update.p50} | ${fig(x.update.p99, `${k} update p99`)} | ${fig(x.update.rps, `${k} updates/s`)} | ${cpu} |`;
    }),
    '',
    `Generation on against the VAPs + webhooks holding no policy: creates/s ${withTarget(s.ratios.createsPerSecond, TARGETS.e2eCreatesPerSecond)}, create p99 ${withTarget(s.ratios.createP99, TARGETS.e2eCreateP99)}; updates/s ×${s.ratios.updatesPerSecond}, update p99 ×${s.ratios.updateP99}. Rules: ${s.rules.native} in the API server, ${s.rules.webhook} in the webhook${s.rules.reasons.length ? ` (${s.rules.reasons.join('; ')})` : ''}.`,
    '',
  ]);
}

/** Which VM writes reach vmplane's webhooks at all (the no-op server behind its registrations). */
function callsTable(rows: Json[]): string[] {
  return [
    "| VM write (no-op server behind vmplane's registrations) | mutating calls per write | validating calls per write |",
    '|---|---|---|',
    ...rows.map((r) => `| ${r.write} | ${r.mutate} | ${r.validate} |`),
    '',
  ];
}

/** Start-up to /readyz, with a fresh certificate and with an existing one. */
function startupLine(s: Json): string[] {
  return [
    `Start-up to /readyz (production bundle, median of 3): fresh certificate ${s.freshCertificateMs} ms, existing certificate ${withTarget(s.existingCertificateMs, TARGETS.webhookReadyExistingCertMs)}.`,
    '',
  ];
}

/** The controllers: convergence beside its two floors, and their memory with many VMs cached. */
function controllersTable(c: Json): string[] {
  return [
    '| Controllers | floor: plain client creates them | created through the webhooks | converged | ratio to floor (target ≤ 1.5) | the same writes by a plain client | ratio to the same writes |',
    '|---|---|---|---|---|---|---|',
    ...c.rows.map(
      (x: Json) =>
        `| ${x.vms} VMs | ${x.floorSeconds} s | ${x.viaWebhooksSeconds} s | ${x.convergeSeconds} s | ${x.ratio} | ${x.sameWritesSeconds} s | ${x.ratioToSameWrites} |`,
    ),
    '',
    `Controller RSS with ${c.rss.vmsCached} VMs cached: ${c.rss.rssMb} MB (target ≤ 200 MB with 10,000).`,
    '',
  ];
}

/** KubeVirt's own admission: ms per kubevirt.io VM write beside the floor without it. */
function kubevirtAdmissionTable(k: Json): string[] {
  return [
    `| KubeVirt VM creates through kube-apiserver (${k.vms} each) | one writer p50 ms | one writer p99 ms | 16 writers: ms per write |`,
    '|---|---|---|---|',
    `| floor: no webhook | ${k.floor.sequential.p50} | ${k.floor.sequential.p99} | ${k.floor.burstMsPerWrite} |`,
    `| KubeVirt's validating admission registered | ${k.withAdmission.sequential.p50} | ${k.withAdmission.sequential.p99} | ${k.withAdmission.burstMsPerWrite} |`,
    '',
    `KubeVirt's admission adds ${k.added.sequentialP50Ms} ms to a write (p50, one writer; ×${k.ratios.sequentialP50}) and ${k.added.burstMsPerWrite} ms per write to a burst of 16 writers (×${k.ratios.burst}); its process spends ${k.webhookCpuMsPerWrite} ms of CPU per call; starting and registering it took ${k.registerMs} ms.`,
    '',
  ];
}

/** npm start: ready without the engine, and with it until the first VM runs. */
function sandboxTable(sb: Json): string[] {
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  return [
    `| npm start (median of ${sb.runs}) | from the command |`,
    '|---|---|',
    `| floor: ready without the engine (--no-engine) | ${s(sb.floorReadyMs)} |`,
    `| with the engine: demo/tiny-1 Running | ${s(sb.vmRunningMs)} |`,
    `| ... of which after the examples were applied (hand-over, instance, QEMU, boot) | ${s(sb.vmAfterExamplesMs)} |`,
    `| with the engine: ready | ${s(sb.readyMs)} |`,
    '',
    `First use only: the tiny Linux image built into an empty cache (download, unpack, initramfs) in ${s(sb.imageBuildMs)}.`,
    '',
  ];
}

/** The plugin: the VM list in Chromium beside its floor, and the size of the bundle. */
function pluginTable(p: Json): string[] {
  const kb = (b: number): string => `${Math.round(b / 1024)} KB`;
  return [
    `| Plugin: VM list with ${p.vms.toLocaleString('en-US')} VMs in Chromium (median of ${p.runs}) | ms |`,
    '|---|---|',
    `| floor: the list fetched and parsed in the page, no UI | ${p.listFloorMs} |`,
    `| click VMs in the app until the table counts them all | ${p.openMs} |`,
    `| ... of which the UI (the rest is the floor; target < 1000 for both) | ${p.openMs - p.listFloorMs} |`,
    `| back to the list Headlamp already holds | ${p.backMs} |`,
    `| app start on another plugin page (Headlamp's lib and the plugin load) | ${p.bootMs} |`,
    '',
    `Plugin bundle (dist/main.js): ${kb(p.bundle.bytes)}, ${kb(p.bundle.gzipBytes)} gzipped (target < 300 KB); the terminal (dist/xterm.js, ${kb(p.bundle.xtermBytes)}) loads only when a serial console opens.`,
  ];
}
