// The built plugin in Debian's Chromium, behind the UI server, against the shared API server: what
// every browser test starts with. The runner has built plugin/dist and the harness page first.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { CHROMIUM_ARGS, chromiumPath } from '../../harness/src/ui/browser.ts';
import { startUiServer, type UiServer, type UiServerOptions } from '../../harness/src/ui/server.ts';

/** The cluster name in the UI's URLs (/c/test/...). */
export const CLUSTER = 'test';
/** Where the browser tests save their screenshots (git-ignored). */
export const SHOTS = join(REPO_ROOT, 'test-results', 'plugin');

export interface PluginInBrowser {
  ui: UiServer;
  browser: Browser;
  page: Page;
  /** Uncaught errors in the page; a test expects none. */
  pageErrors: string[];
  close(): Promise<void>;
}

export async function openPluginInBrowser(
  opts: {
    override?: UiServerOptions['override'];
    height?: number;
    /** Another API server than the shared one (a test's own sandbox). */
    kubeconfig?: string;
  } = {},
): Promise<PluginInBrowser> {
  const pluginDir = join(REPO_ROOT, 'plugin', 'dist');
  if (!existsSync(join(pluginDir, 'main.js')))
    throw new Error('plugin/dist/main.js is missing: npm test builds it before the tests');
  const ui = await startUiServer({
    kubeconfig: opts.kubeconfig ?? inject('kubeconfig'),
    clusterName: CLUSTER,
    harnessDir: join(REPO_ROOT, 'plugin', 'harness', 'dist'),
    pluginDir,
    iconDir: join(REPO_ROOT, 'plugin', 'node_modules', '@iconify', 'icons-mdi'),
    ...(opts.override ? { override: opts.override } : {}),
  });
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: opts.height ?? 900 } });
  // As the printed address would: the UI server admits only a page that carries its token.
  await page.context().addCookies([{ name: ui.cookieName, value: ui.token, url: ui.url }]);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return {
    ui,
    browser,
    page,
    pageErrors,
    async close() {
      await browser.close();
      await ui.close();
    },
  };
}
