// The plugin's figures for `npm run bench`: the size of the built bundle, and how long the VM
// list takes to show N VMs (5,000 by default) in headless Chromium, beside the floor: the same
// list fetched and parsed in the same browser, through the same proxy, with no UI at all.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import type { KubeRest } from '../kube/src/rest.ts';
import { ensurePluginBuilt } from '../harness/src/ui/build.ts';
import { CHROMIUM_ARGS, chromiumPath } from '../harness/src/ui/browser.ts';
import { startUiServer } from '../harness/src/ui/server.ts';
import { createFleet } from '../test/support/fleet.ts';
import { median } from './measure.ts';
import { RESULTS } from './results.ts';

export interface PluginResults {
  bundle: { bytes: number; gzipBytes: number; xtermBytes: number };
  vms: number;
  runs: number;
  /** Fetch + JSON.parse of the list in the page (no UI): the floor. */
  listFloorMs: number;
  /** From clicking "VMs" in the app (the list not loaded yet) to the table counting all N. */
  openMs: number;
  /** The first open split by the app's own list request (Resource Timing in the page): ... */
  openSplit: {
    /** ... from the click until the request left (route, install check, discovery), */
    beforeRequestMs: number;
    /** ... the request itself, until its last byte (the API server, the proxy, the network), */
    requestMs: number;
    /** ... and from its last byte until the table counts all N (parse, objects, table, render). */
    afterResponseMs: number;
  };
  /** The same, coming back to the list Headlamp already holds (and watches). */
  backMs: number;
  /** Opening the app on another plugin page: Headlamp's lib and the plugin loading. */
  bootMs: number;
}

type UiServer = { url: string; token: string; cookieName: string };

/** One run's figures, in ms. */
interface Run {
  boot: number;
  open: number;
  beforeRequest: number;
  request: number;
  afterResponse: number;
  back: number;
  floor: number;
}

/** One of the plugin's entries in Headlamp's sidebar. */
function sidebarButton(page: Page, name: 'VMs' | 'Classes'): Locator {
  return page
    .getByRole('navigation', { name: 'Navigation' })
    .getByRole('button', { name, exact: true });
}

/** The ms these steps take. */
async function msFor(steps: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await steps();
  return performance.now() - t0;
}

/** Clicks VMs in the sidebar and waits until the table counts all the VMs. */
async function openList(page: Page, counted: RegExp): Promise<void> {
  await sidebarButton(page, 'VMs').click();
  await page.getByText(counted).first().waitFor({ timeout: 120_000 });
}

type Split = Pick<Run, 'open' | 'beforeRequest' | 'request' | 'afterResponse'>;

/**
 * Where the first open's time went, from the page's Resource Timing of the app's list request:
 * `clickAt` is the page's clock at the click, `open` the ms until the table counted all.
 */
async function splitOpen(page: Page, clickAt: number, open: number): Promise<Split> {
  const timing = await page.evaluate((after) => {
    const e = performance
      .getEntriesByType('resource')
      .find(
        (r) =>
          r.startTime >= after &&
          new URL(r.name).pathname.endsWith('/apis/vmplane.io/v1alpha1/virtualmachines'),
      ) as { startTime: number; responseEnd: number } | undefined;
    return e && { start: e.startTime, end: e.responseEnd };
  }, clickAt);
  if (!timing) throw new Error('the app sent no request for the VM list after the click');
  const beforeRequest = timing.start - clickAt;
  const request = timing.end - timing.start;
  return { open, beforeRequest, request, afterResponse: open - beforeRequest - request };
}

/**
 * First open of the list: fetched from the API server and rendered. With profile, a CPU profile
 * of it goes to bench/results/vm-list.cpuprofile (for Chrome DevTools).
 */
async function firstOpen(page: Page, counted: RegExp, profile: boolean): Promise<Split> {
  const cdp = profile ? await page.context().newCDPSession(page) : undefined;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
  }
  // The page's clock at the click, so the list request's timing can be placed against it.
  const clickAt = await page.evaluate(() => {
    performance.clearResourceTimings();
    return performance.now();
  });
  const ms = await msFor(() => openList(page, counted));
  if (cdp) {
    const { profile } = await cdp.send('Profiler.stop');
    writeFileSync(join(RESULTS, 'vm-list.cpuprofile'), JSON.stringify(profile));
  }
  return splitOpen(page, clickAt, ms);
}

/** The floor, in the page: the list the table needs, fetched and parsed, no UI. */
function listFloor(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const s = performance.now();
    const r = await fetch('/clusters/bench/apis/vmplane.io/v1alpha1/virtualmachines');
    const body = (await r.json()) as { items: unknown[] };
    if (!body.items.length) throw new Error('empty list');
    return performance.now() - s;
  });
}

/** One run in a new page: the app's boot, the list's first open, back to it, then the floor. */
async function oneRun(
  browser: Browser,
  ui: UiServer,
  counted: RegExp,
  profile: boolean,
): Promise<Run> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.context().addCookies([{ name: ui.cookieName, value: ui.token, url: ui.url }]);
  // The app and the plugin load on another page first (Classes): boot time, not the list's.
  const boot = await msFor(async () => {
    await page.goto(`${ui.url}/c/bench/vmplane/classes`);
    await page.getByText('VM Classes').first().waitFor({ timeout: 60_000 });
  });
  const split = await firstOpen(page, counted, profile);
  // Back to the list later: Headlamp keeps it (and its watch), so this is render only.
  await sidebarButton(page, 'Classes').click();
  await page.getByText('VM Classes').first().waitFor();
  const back = await msFor(() => openList(page, counted));
  const floor = await listFloor(page);
  await page.close();
  return { boot, ...split, back, floor };
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
  const done: Run[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      // BENCH_PROFILE=1 keeps a CPU profile of the first run's first open.
      const r = await oneRun(browser, ui, counted, run === 0 && !!process.env.BENCH_PROFILE);
      done.push(r);
      console.log(
        `plugin run ${run + 1}: boot ${Math.round(r.boot)} ms, open the list ${Math.round(r.open)} ms (before the request ${Math.round(r.beforeRequest)}, the request ${Math.round(r.request)}, after it ${Math.round(r.afterResponse)}), back to it ${Math.round(r.back)} ms, list floor ${Math.round(r.floor)} ms`,
      );
    }
  } finally {
    await browser.close();
    await ui.close();
  }
  const ms = (k: keyof Run): number => Math.round(median(done.map((r) => r[k])));
  return {
    bundle: { bytes: bundle.length, gzipBytes: gzipSync(bundle).length, xtermBytes: xterm.length },
    vms: n,
    runs,
    listFloorMs: ms('floor'),
    openMs: ms('open'),
    openSplit: {
      beforeRequestMs: ms('beforeRequest'),
      requestMs: ms('request'),
      afterResponseMs: ms('afterResponse'),
    },
    backMs: ms('back'),
    bootMs: ms('boot'),
  };
}
