// The report of a run: results.json's figures as markdown, a table or a paragraph per section
// that ran, each figure beside its baseline and its target. Written to results.md and printed.

export function table(r: Record<string, any>): string {
  const lines: string[] = [];
  lines.push(
    `Machine: ${r.machine.cpu} (${r.machine.cores} cores), Node ${r.machine.node}, ${r.machine.date}`,
    '',
  );
  if (r.webhook) {
    lines.push(
      '| Webhook alone (HTTPS, keep-alive) | concurrency | p50 ms | p95 ms | p99 ms | req/s | server CPU ms/request |',
      '|---|---|---|---|---|---|---|',
    );
    for (const x of r.webhook.rows)
      lines.push(
        `| ${x.server} | ${x.concurrency} | ${x.p50} | ${x.p95} | ${x.p99} | ${x.rps} | ${x.cpuMsPerRequest} |`,
      );
    lines.push(
      '',
      `At 1,000 req/s (16 connections): no-op p99 ${r.webhook.at1000rps['no-op floor'].p99} ms, vmplane with 50 policies p99 ${r.webhook.at1000rps['vmplane, 50 policies'].p99} ms: ratio **${r.webhook.p99RatioAt1000rps}** (target at most 2).`,
      '',
    );
  }
  const e = r.endToEnd;
  if (e) {
    lines.push(
      `| Through kube-apiserver (${e.requests} VMs, concurrency ${e.concurrency}) | create p50 | create p99 | create/s | update p50 | update p99 | update/s |`,
      '|---|---|---|---|---|---|---|',
    );
    for (const [k, name] of [
      ['none', 'no webhooks'],
      ['vap', 'ValidatingAdmissionPolicy'],
      ['vmplane', 'vmplane webhooks'],
      ['noop', 'no-op webhooks, same registrations'],
    ] as const) {
      const x = e[k];
      lines.push(
        `| ${name} | ${x.create.p50} | ${x.create.p99} | ${x.create.rps} | ${x.update.p50} | ${x.update.p99} | ${x.update.rps} |`,
      );
    }
    lines.push(
      '',
      `p99 ratios: create vs none **${e.ratios.createP99VsNone}** (target ≤ 1.25), vs VAP **${e.ratios.createP99VsVap}** (target ≤ 1.1); update vs none **${e.ratios.updateP99VsNone}**, vs VAP **${e.ratios.updateP99VsVap}**. A no-op webhook's create p99 is ${e.ratios.createP99NoopVsNone}× none; vmplane vs no-op: create ${e.ratios.createP99VsNoop}×, update ${e.ratios.updateP99VsNoop}×. Webhook process CPU per write (both calls): vmplane ${e.webhookCpuMsPerWrite.vmplane} ms, no-op ${e.webhookCpuMsPerWrite.noop} ms.`,
      '',
    );
  }
  if (r.startup)
    lines.push(
      `Start-up to /readyz (production bundle, median of 3): fresh certificate ${r.startup.freshCertificateMs} ms, existing certificate ${r.startup.existingCertificateMs} ms (target < 1000 ms).`,
      '',
    );
  if (r.controllers) {
    lines.push(
      '| Controllers | floor: plain client creates them | created through the webhooks | converged | ratio to floor (target ≤ 1.5) | the same writes by a plain client | ratio to the same writes |',
      '|---|---|---|---|---|---|---|',
    );
    for (const x of r.controllers.rows) {
      lines.push(
        `| ${x.vms} VMs | ${x.floorSeconds} s | ${x.viaWebhooksSeconds} s | ${x.convergeSeconds} s | ${x.ratio} | ${x.sameWritesSeconds} s | ${x.ratioToSameWrites} |`,
      );
    }
    lines.push(
      '',
      `Controller RSS with ${r.controllers.rss.vmsCached} VMs cached: ${r.controllers.rss.rssMb} MB (target ≤ 200 MB with 10,000).`,
      '',
    );
  }
  const sb = r.sandbox;
  if (sb) {
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    lines.push(
      `| npm start (median of ${sb.runs}) | from the command |`,
      '|---|---|',
      `| floor: ready without the engine (--no-engine) | ${s(sb.floorReadyMs)} |`,
      `| with the engine: demo/tiny-1 Running | ${s(sb.vmRunningMs)} |`,
      `| ... of which after the examples were applied (hand-over, instance, QEMU, boot) | ${s(sb.vmAfterExamplesMs)} |`,
      `| with the engine: ready | ${s(sb.readyMs)} |`,
      '',
      `First use only: the tiny Linux image built into an empty cache (download, unpack, initramfs) in ${s(sb.imageBuildMs)}.`,
      '',
    );
  }
  const p = r.plugin;
  if (p) {
    const kb = (b: number): string => `${Math.round(b / 1024)} KB`;
    lines.push(
      `| Plugin: VM list with ${p.vms.toLocaleString('en-US')} VMs in Chromium (median of ${p.runs}) | ms |`,
      '|---|---|',
    );
    lines.push(`| floor: the list fetched and parsed in the page, no UI | ${p.listFloorMs} |`);
    lines.push(`| click VMs in the app until the table counts them all | ${p.openMs} |`);
    lines.push(
      `| ... of which the UI (the rest is the floor; target < 1000 for both) | ${p.openMs - p.listFloorMs} |`,
    );
    lines.push(`| back to the list Headlamp already holds | ${p.backMs} |`);
    lines.push(
      `| app start on another plugin page (Headlamp's lib and the plugin load) | ${p.bootMs} |`,
    );
    lines.push(
      '',
      `Plugin bundle (dist/main.js): ${kb(p.bundle.bytes)}, ${kb(p.bundle.gzipBytes)} gzipped (target < 300 KB); the terminal (dist/xterm.js, ${kb(p.bundle.xtermBytes)}) loads only when a serial console opens.`,
    );
  }
  return lines.join('\n');
}
