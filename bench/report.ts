// The report of a run: results.json's figures as markdown, a table or a paragraph per section
// that ran, each figure beside its baseline and its target. Written to results.md and printed.

type Json = Record<string, any>;

/** The markdown of results.json: the machine, then each section that ran. */
export function table(r: Json): string {
  return [
    `Machine: ${r.machine.cpu} (${r.machine.cores} cores), Node ${r.machine.node}, ${r.machine.date}`,
    '',
    ...(r.webhook ? webhookTable(r.webhook) : []),
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
    `At 1,000 req/s (16 connections): no-op p99 ${w.at1000rps['no-op floor'].p99} ms, vmplane with 50 policies p99 ${w.at1000rps['vmplane, 50 policies'].p99} ms: ratio **${w.p99RatioAt1000rps}** (target at most 2).`,
    '',
  ];
}

/** Through kube-apiserver: create and update latency by admission, and their p99 ratios. */
function endToEndTable(e: Json): string[] {
  const rows = [
    ['none', 'no webhooks'],
    ['vap', 'ValidatingAdmissionPolicy'],
    ['vmplane', 'vmplane webhooks'],
    ['noop', 'no-op webhooks, same registrations'],
  ] as const;
  return [
    `| Through kube-apiserver (${e.requests} VMs, concurrency ${e.concurrency}) | create p50 | create p99 | create/s | update p50 | update p99 | update/s |`,
    '|---|---|---|---|---|---|---|',
    ...rows.map(([k, name]) => {
      const x = e[k];
      return `| ${name} | ${x.create.p50} | ${x.create.p99} | ${x.create.rps} | ${x.update.p50} | ${x.update.p99} | ${x.update.rps} |`;
    }),
    '',
    `p99 ratios: create vs none **${e.ratios.createP99VsNone}** (target ≤ 1.25), vs VAP **${e.ratios.createP99VsVap}** (target ≤ 1.1); update vs none **${e.ratios.updateP99VsNone}**, vs VAP **${e.ratios.updateP99VsVap}**. A no-op webhook's create p99 is ${e.ratios.createP99NoopVsNone}× none; vmplane vs no-op: create ${e.ratios.createP99VsNoop}×, update ${e.ratios.updateP99VsNoop}×. Webhook process CPU per write (both calls): vmplane ${e.webhookCpuMsPerWrite.vmplane} ms, no-op ${e.webhookCpuMsPerWrite.noop} ms.`,
    '',
  ];
}

/** Start-up to /readyz, with a fresh certificate and with an existing one. */
function startupLine(s: Json): string[] {
  return [
    `Start-up to /readyz (production bundle, median of 3): fresh certificate ${s.freshCertificateMs} ms, existing certificate ${s.existingCertificateMs} ms (target < 1000 ms).`,
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
