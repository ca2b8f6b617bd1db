// The Headlamp plugin in a real browser (Debian's Chromium, driven by playwright-core), against
// the shared kube-apiserver with vmplane's webhooks and controllers running: the harness page
// loads Headlamp's plugin lib and the built plugin, and the UI server proxies /clusters/<name>/
// to the API server as Headlamp's backend does. Screenshots go to test-results/plugin/.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControllers, type RunningControllers } from '../../controllers/src/main.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import { type RunningWebhooks } from '../../webhooks/src/main.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';
import { CLUSTER, openPluginInBrowser, SHOTS, type PluginInBrowser } from '../support/browser.ts';
import { kubeConfig } from '../support/cluster.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';

const scope = `ui${randomBytes(3).toString('hex')}`;
const V = API_VERSION;
const n = (s: string): string => `${s}-${scope}`;
const ns = n('ui');

let rest: KubeRest;
let webhooks: RunningWebhooks;
let controllers: RunningControllers;
let web: PluginInBrowser;
let page: Page;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  rest = new KubeRest(kubeConfig());
  await rest.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: ns,
      labels: { 'vmplane.io/webhook-scope': scope, 'ui-test': scope },
      annotations: { 'vmplane.io/default-storage-class': n('sc') },
    },
  });
  for (const o of [
    {
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: n('small') },
      spec: {
        description: 'web tier',
        hardware: { cpus: 2, memory: '4Gi' },
        reservation: 'BestEffort',
      },
    },
    {
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: n('big') },
      spec: { hardware: { cpus: 16, memory: '64Gi' }, reservation: 'Guaranteed' },
    },
    {
      apiVersion: V,
      kind: 'ClusterVirtualMachineImage',
      metadata: { name: n('ubuntu') },
      spec: {
        source: { http: { url: 'https://images.example/u.img' } },
        osInfo: { name: 'Ubuntu', version: '24.04' },
        size: '10Gi',
      },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: n('sc') },
      provisioner: 'rbd.csi.ceph.com',
    },
    {
      apiVersion: V,
      kind: 'VirtualMachinePolicy',
      metadata: { name: n('max-4-cpus'), labels: { 'vmplane.io/webhook-scope': scope } },
      spec: {
        description: 'At most 4 vCPUs per VM',
        match: { namespaceSelector: { matchLabels: { 'ui-test': scope } } },
        validationActions: ['Deny'],
        rules: { maxCPUs: 4 },
      },
    },
  ] as KubeObjectLike[]) {
    await rest.create(o);
  }
  webhooks = await startScopedWebhooks(scope);
  await waitUntil('the webhook to see the policy', async () =>
    webhooks.cache.policies().some((p) => p.metadata.name === n('max-4-cpus')),
  );
  controllers = await startControllers({
    kc: kubeConfig(),
    scope: { namespaces: [ns] },
    logger: pino({ level: 'silent' }),
  });
  web = await openPluginInBrowser();
  page = web.page;
}, 180_000);

afterAll(async () => {
  await web?.close();
  await controllers?.stop();
  await stopScopedWebhooks(webhooks);
  rest?.close();
}, 60_000);

async function next(times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await page.getByRole('button', { name: 'Next' }).click();
}
async function back(times = 1): Promise<void> {
  for (let i = 0; i < times; i++)
    await page.getByRole('button', { name: 'Back', exact: true }).click();
}

describe('the plugin in Chromium against the real API server', () => {
  const vmName = 'web-ui';

  it('creates a VM through the wizard: a policy denial in review, fixed, created, listed, stopped', async () => {
    await page.goto(`${web.ui.url}/c/${CLUSTER}/vmplane/vms/create`);
    await page.getByTestId('wizard-step-namespace').waitFor();

    // Namespace and name.
    await page.getByRole('main').getByRole('combobox').first().click();
    await page.getByRole('option', { name: ns, exact: true }).click();
    await page.getByRole('textbox', { name: 'Name' }).fill(vmName);
    await next();

    // Class: the big one, which the policy forbids.
    await page
      .getByRole('radio', { name: new RegExp(`^${n('big')} — 16 vCPU, 64 GiB, Guaranteed`) })
      .check();
    await shot('1-wizard-class');
    await next();

    // Image from the cluster library.
    await page
      .getByRole('radio', {
        name: new RegExp(`^${n('ubuntu')} \\(cluster library\\) — Ubuntu 24.04`),
      })
      .check();
    await next(3); // disks, cloud-init, review

    // Review: the server-side dry run shows the policy's denial; Create stays disabled.
    const denials = page.getByTestId('denials');
    await denials.waitFor({ timeout: 20_000 });
    await expect
      .poll(() => denials.innerText())
      .toContain(`policy "${n('max-4-cpus')}" rule maxCPUs: 16 vCPUs`);
    expect(
      await page
        .getByRole('main')
        .getByRole('button', { name: 'Create', exact: true })
        .isDisabled(),
    ).toBe(true);
    await shot('2-wizard-review-denied');
    // Nothing was created by the dry run.
    expect(
      (
        await rest.request<{ items: unknown[] }>(
          'GET',
          await rest.collectionPath(V, 'VirtualMachine', ns),
        )
      ).body.items,
    ).toHaveLength(0);

    // Fix the class, come back to review: accepted, with the defaults the webhook applied.
    await back(4);
    await page
      .getByRole('radio', { name: new RegExp(`^${n('small')} — 2 vCPU, 4 GiB, BestEffort`) })
      .check();
    await next(4);
    const preview = page.getByTestId('policy-preview');
    await expect
      .poll(() => preview.innerText(), { timeout: 20_000 })
      .toContain('The API server would accept this VM');
    expect(await preview.innerText()).toContain(`boot disk on ${n('sc')}`);
    await shot('3-wizard-review-allowed');
    await page.getByRole('main').getByRole('button', { name: 'Create', exact: true }).click();

    // Submitting creates the VM and opens it.
    await page.waitForURL(`**/vmplane/vms/${ns}/${vmName}`);
    await page.getByText(`VirtualMachine: ${vmName}`).waitFor();
    const vm = await rest.get<{
      spec: { className: string; powerState: string; image: { name: string } };
    }>({ apiVersion: V, kind: 'VirtualMachine', metadata: { name: vmName, namespace: ns } });
    expect(vm.spec).toMatchObject({
      className: n('small'),
      powerState: 'PoweredOn',
      image: { name: n('ubuntu') },
    });
    await shot('4-vm-details');

    // The list shows it.
    // Headlamp's sidebar holds the plugin's entries.
    await page
      .getByRole('navigation', { name: 'Navigation' })
      .getByRole('button', { name: 'VMs', exact: true })
      .click();
    await page.getByRole('link', { name: vmName, exact: true }).first().waitFor();
    await shot('5-vm-list');

    // Stop it from its page: confirmed, then the desired state changes in the API.
    await page.getByRole('link', { name: vmName, exact: true }).first().click();
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByRole('dialog').getByText('unsaved work in it is lost').waitFor();
    await shot('6-stop-confirm');
    // Headlamp's ConfirmDialog labels its button "confirm-button" for screen readers.
    expect(await page.getByRole('button', { name: 'confirm-button' }).innerText()).toBe('Stop');
    await page.getByRole('button', { name: 'confirm-button' }).click();
    await waitUntil('spec.powerState to be PoweredOff', async () => {
      const v = await rest.get<{ spec: { powerState?: string } }>({
        apiVersion: V,
        kind: 'VirtualMachine',
        metadata: { name: vmName, namespace: ns },
      });
      return v.spec.powerState === 'PoweredOff' ? true : undefined;
    });
    await page.getByText('Stop requested').waitFor();
    await shot('7-stopped');
    expect(web.pageErrors).toEqual([]);
  }, 120_000);
});
