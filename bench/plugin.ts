// The plugin's figures for `npm run bench`: the size of the built bundle, and how long the VM
// list takes to show N VMs (5,000 by default) in headless Chromium, beside the floor: the same
// list fetched and parsed in the same browser, through the same proxy, with no UI at all.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Page } from 'playwright-core';
import { REPO_ROOT } from '../api/src/paths.ts';
import type { KubeRest } from '../kube/src/rest.ts';
import { ensurePluginBuilt } from '../harness/src/ui/build.ts';
import { CHROMIUM_ARGS, chromiumPath } from '../harness/src/ui/browser.ts';
import { TOKEN_COOKIE } from '../harness/src/ui/guard.ts';
import { startUiServer } from '../harness/src/ui/server.ts';
import { createFleet } from '../test/support/fleet.ts';
import { median } from './measure.ts';

export interface PluginResults {
  bundle: { bytes: number; gzipBytes: number; xtermBytes: number };
  vms: number;
  runs: number;
  /** Fetch + JSON.parse of the list in the page (no UI): the floor. */
  listFloorMs: number;
  /** From clicking "VMs" in the app (the list not loaded yet) to the table counting all N. */
  openMs: number;
  /** The same, coming back to the list Headlamp already holds (and watches). */
  backMs: number;
  /** Opening the app on another plugin page: Headlamp's lib and the plugin loading. */
  bootMs: number;
}

export async function pluginBench(
  kubeconfig: string,
  rest: KubeRest,
  n: number,
  runs = 3,
): Promise<PluginResults> {
  const built = ensurePluginBuilt((l) => console.log(l));
  const bundle = readFileSync(join(built.pluginDir, 'main.js'));
  // The terminal is a file of its own, loaded the first time a console opens.
  const xterm = readFileSync(join(built.pluginDir, 'xterm.js'));
  console.log(`plugin: creating ${n} VMs with their status`);
  await createFleet(rest, 'ui-fleet', n, 32);

  const ui = await startUiServer({ kubeconfig, clusterName: 'bench', ...built });
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  const counted = new RegExp(`of ${n.toLocaleString('en-US')}\\b|of ${n}\\b`);
  const floor: number[] = [];
  const boot: number[] = [];
  const open: number[] = [];
  const back: number[] = [];
  // The plugin's entries in Headlamp's sidebar.
  const vmsLink = (page: Page) =>
    page
      .getByRole('navigation', { name: 'Navigation' })
      .getByRole('button', { name: 'VMs', exact: true });
  const classesLink = (page: Page) =>
    page
      .getByRole('navigation', { name: 'Navigation' })
      .getByRole('button', { name: 'Classes', exact: true });
  try {
    for (let run = 0; run < runs; run++) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.context().addCookies([{ name: TOKEN_COOKIE, value: ui.token, url: ui.url }]);
      // The app and the plugin load on another page first (Classes): boot time, not the list's.
      let t0 = performance.now();
      await page.goto(`${ui.url}/c/bench/vmplane/classes`);
      await page.getByText('VM Classes').first().waitFor({ timeout: 60_000 });
      boot.push(performance.now() - t0);

      // First open of the list: fetched from the API server and rendered. BENCH_PROFILE=1 keeps
      // a CPU profile of the first one (bench/results/vm-list.cpuprofile, for Chrome DevTools).
      const cdp =
        run === 0 && process.env.BENCH_PROFILE
          ? await page.context().newCDPSession(page)
          : undefined;
      if (cdp) {
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
        await cdp.send('Profiler.start');
      }
      t0 = performance.now();
      await vmsLink(page).click();
      await page.getByText(counted).first().waitFor({ timeout: 120_000 });
      open.push(performance.now() - t0);
      if (cdp) {
        const { profile } = await cdp.send('Profiler.stop');
        writeFileSync(
          join(REPO_ROOT, 'bench', 'results', 'vm-list.cpuprofile'),
          JSON.stringify(profile),
        );
      }

      // Back to the list later: Headlamp keeps it (and its watch), so this is render only.
      await classesLink(page).click();
      await page.getByText('VM Classes').first().waitFor();
      t0 = performance.now();
      await vmsLink(page).click();
      await page.getByText(counted).first().waitFor({ timeout: 120_000 });
      back.push(performance.now() - t0);

      // The floor, in the same page: the list the table needs, fetched and parsed, no UI.
      floor.push(
        await page.evaluate(async () => {
          const s = performance.now();
          const r = await fetch('/clusters/bench/apis/vmplane.io/v1alpha1/virtualmachines');
          const body = (await r.json()) as { items: unknown[] };
          if (!body.items.length) throw new Error('empty list');
          return performance.now() - s;
        }),
      );
      await page.close();
      console.log(
        `plugin run ${run + 1}: boot ${Math.round(boot[run]!)} ms, open the list ${Math.round(open[run]!)} ms, back to it ${Math.round(back[run]!)} ms, list floor ${Math.round(floor[run]!)} ms`,
      );
    }
  } finally {
    await browser.close();
    await ui.close();
  }
  return {
    bundle: { bytes: bundle.length, gzipBytes: gzipSync(bundle).length, xtermBytes: xterm.length },
    vms: n,
    runs,
    listFloorMs: Math.round(median(floor)),
    openMs: Math.round(median(open)),
    backMs: Math.round(median(back)),
    bootMs: Math.round(median(boot)),
  };
}
