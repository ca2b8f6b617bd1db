// Loads the terminal (xterm.js) the first time a serial console opens. It is a file of its own
// next to main.js (see scripts/xterm.mjs), fetched through Headlamp's backend like the plugin
// itself, and evaluated the way Headlamp evaluates plugins.
import { ApiProxy } from '@kinvolk/headlamp-plugin/lib';
import type { FitAddon as FitAddonClass } from '@xterm/addon-fit';
import type { Terminal as TerminalClass } from '@xterm/xterm';
import { pluginFolderCandidates } from './logic/console';

export interface Xterm {
  Terminal: typeof TerminalClass;
  FitAddon: typeof FitAddonClass;
}

let loading: Promise<Xterm> | undefined;

/** A file of the Headlamp app (not of a cluster): the text, or an error naming the path. */
async function appFile(path: string): Promise<string> {
  const r = (await ApiProxy.request(path, { isJSON: false }, false, false)) as Response;
  return r.text();
}

async function load(): Promise<Xterm> {
  // Headlamp lists the plugins it serves (GET /plugins: path, type, folder name); ours is the
  // folder whose package.json names "vmplane". Without the list (older backends), the usual path.
  let listed: unknown = [];
  try {
    listed = JSON.parse(await appFile('/plugins'));
  } catch {
    // fall back to the default folder below
  }
  let lastError: unknown;
  for (const path of pluginFolderCandidates(listed)) {
    try {
      const source = await appFile(`/${path}/xterm.js`);
      // eslint-disable-next-line no-new-func
      return new Function(`${source}\nreturn vmplaneXterm;`)() as Xterm;
    } catch (e) {
      lastError = e;
    }
  }
  throw new Error(
    `the terminal (xterm.js) did not load: ${(lastError as Error)?.message ?? lastError}`
  );
}

/** xterm.js, loaded once. A failed load is retried on the next call. */
export function loadXterm(): Promise<Xterm> {
  loading ??= load().catch(e => {
    loading = undefined;
    throw e;
  });
  return loading;
}
