// Debian's Chromium for the UI tests and benchmarks (never a downloaded browser).
import { existsSync } from 'node:fs';
import { onPath, runInstall } from '../packages.ts';

/** Flags that work on this kind of machine: headless, no sandbox (root), no background traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const path = env.VMPLANE_CHROMIUM ?? DEFAULT_CHROMIUM;
  if (!existsSync(path))
    throw new Error(
      `Chromium not found at ${path}: install Debian's package (apt-get install chromium) or set VMPLANE_CHROMIUM`,
    );
  return path;
}

/** What `npm test` does about the browser its browser tests need. */
export type BrowserPlan =
  | { action: 'use'; path: string }
  | { action: 'install'; commands: string[][] }
  | { action: 'stop'; message: string };

export interface BrowserFacts {
  /** VMPLANE_CHROMIUM, when set. */
  configured?: string;
  /** Whether the configured (or default) path exists. */
  present: boolean;
  /** Running as root. */
  root: boolean;
  /** apt-get is on PATH. */
  apt: boolean;
}

/**
 * Decides how the browser tests get their Chromium: the one there; else Debian's package when the
 * run may install it (root with apt, as CI and a fresh machine of this project's kind are); else
 * one line saying what to run, before any test starts.
 */
export function planBrowser(f: BrowserFacts): BrowserPlan {
  const path = f.configured ?? DEFAULT_CHROMIUM;
  if (f.present) return { action: 'use', path };
  if (f.configured) {
    return {
      action: 'stop',
      message: `VMPLANE_CHROMIUM=${f.configured} does not exist: point it at a Chromium binary, or unset it to use Debian's chromium package`,
    };
  }
  if (f.root && f.apt) {
    return {
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', 'chromium'],
      ],
    };
  }
  const how = f.apt
    ? 'sudo apt-get install chromium'
    : "install Chromium from your system's packages";
  return {
    action: 'stop',
    message: `the browser tests need Chromium at ${DEFAULT_CHROMIUM}: run \`${how}\` (or set VMPLANE_CHROMIUM to a Chromium binary), then npm test again`,
  };
}

/**
 * Makes sure Chromium is there for the browser tests, installing Debian's package when allowed.
 * Returns an error line when it cannot, so the caller stops before running anything.
 */
export function ensureChromium(
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const configured = env.VMPLANE_CHROMIUM || undefined;
  const plan = planBrowser({
    ...(configured ? { configured } : {}),
    present: existsSync(configured ?? DEFAULT_CHROMIUM),
    root: process.getuid?.() === 0,
    apt: onPath('apt-get'),
  });
  if (plan.action === 'use') return undefined;
  if (plan.action === 'stop') return plan.message;
  log("installing Debian's chromium for the browser tests (first run, about a minute)...");
  const failed = runInstall(plan.commands, env, log);
  if (failed)
    return `${failed}; install Chromium by hand (apt-get install chromium), then npm test again`;
  if (!existsSync(DEFAULT_CHROMIUM))
    return `apt-get installed chromium but ${DEFAULT_CHROMIUM} is missing; set VMPLANE_CHROMIUM to the browser's path`;
  log(`chromium installed at ${DEFAULT_CHROMIUM}`);
  return undefined;
}
