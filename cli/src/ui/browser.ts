// Debian's Chromium for the UI tests and benchmarks (never a downloaded browser).
import { existsSync } from 'node:fs';

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

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const path = env.VMPLANE_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`Chromium not found at ${path}: install Debian's package (apt-get install chromium) or set VMPLANE_CHROMIUM`);
  return path;
}
