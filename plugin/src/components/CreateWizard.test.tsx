// Registers the plugin's routes, so "open the new VM" has a URL to go to.
import '../index';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { API, renderInHeadlamp, requests, statusError, vmplaneServed } from '../../test/render';
import { CreateWizard } from './CreateWizard';

const list = (kind: string, items: object[]) =>
  HttpResponse.json({
    kind: `${kind}List`,
    apiVersion: 'v1',
    metadata: { resourceVersion: '1' },
    items,
  });
const cls = (name: string, cpus: number, memory: string, extra: object = {}) => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'VirtualMachineClass',
  metadata: { name, uid: name },
  spec: { hardware: { cpus, memory }, ...extra },
});

const net = (name: string, spec: object, status?: object) => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'Network',
  metadata: { name, uid: name },
  spec,
  ...(status ? { status } : {}),
});

const handlers = [
  vmplaneServed,
  http.get(`${API}/api/v1/namespaces`, () =>
    list('Namespace', [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'team-a', uid: 'ns', labels: { env: 'dev' } },
      },
    ])
  ),
  http.get(`${API}/apis/vmplane.io/v1alpha1/virtualmachineclasses`, () =>
    list('VirtualMachineClass', [
      // No reservation: the wizard shows the API's default, BestEffort.
      cls('small', 2, '4Gi'),
      cls('big', 16, '64Gi', { reservation: 'Guaranteed' }),
      // Not for this namespace: its selector wants env=prod.
      cls('prod-only', 8, '16Gi', { namespaceSelector: { matchLabels: { env: 'prod' } } }),
    ])
  ),
  http.get(`${API}/apis/vmplane.io/v1alpha1/clustervirtualmachineimages`, () =>
    list('ClusterVirtualMachineImage', [
      {
        apiVersion: 'vmplane.io/v1alpha1',
        kind: 'ClusterVirtualMachineImage',
        metadata: { name: 'ubuntu', uid: 'img' },
        spec: { osInfo: { name: 'Ubuntu', version: '24.04' }, size: '10Gi' },
      },
    ])
  ),
  http.get(`${API}/apis/vmplane.io/v1alpha1/namespaces/team-a/virtualmachineimages`, () =>
    list('VirtualMachineImage', [])
  ),
  http.get(`${API}/apis/storage.k8s.io/v1/storageclasses`, () => list('StorageClass', [])),
  http.get(`${API}/apis/vmplane.io/v1alpha1/networks`, () =>
    list('Network', [
      net(
        'vlan20',
        {
          l2: { vlanID: 20 },
          ipam: { staticPool: { cidr: '10.20.0.0/24' } },
          namespaceSelector: { matchLabels: { env: 'dev' } },
        },
        { pool: { size: 10, allocated: 1, free: 9 } }
      ),
      net('lab', { type: 'L2', ipam: { externalDHCP: {} } }),
      // Not for this namespace (env=prod only), and the pod network, which every VM has anyway.
      net('prod-net', {
        ipam: { externalDHCP: {} },
        namespaceSelector: { matchLabels: { env: 'prod' } },
      }),
      net('pods', { type: 'Pod' }),
    ])
  ),
  // vmplane's webhooks, as the API server reports them: big classes are denied by a policy;
  // anything else is accepted with a warning, and echoed back with the defaults applied.
  http.post(
    `${API}/apis/vmplane.io/v1alpha1/namespaces/team-a/virtualmachines`,
    async ({ request }) => {
      const vm = (await request.json()) as { spec: { className: string } };
      if (vm.spec.className === 'big')
        return statusError(
          400,
          'admission webhook "vm.vmplane.io" denied the request: policy "limits" rule maxCPUs: 16 vCPUs is more than 4; policy "limits" rule maxMemory: 64Gi is more than 16Gi'
        );
      return HttpResponse.json(
        { ...vm, spec: { ...vm.spec, bootDisk: { size: '10Gi', storageClassName: 'standard' } } },
        {
          status: 201,
          headers: { Warning: '299 - "policy \\"tags\\" (audit): label owner is missing"' },
        }
      );
    }
  ),
];

// The buttons appear once the step's data has loaded: wait for them (a loaded machine is slow).
const next = async () =>
  userEvent.click(await screen.findByRole('button', { name: 'Next' }, { timeout: 5000 }));
const back = async () =>
  userEvent.click(await screen.findByRole('button', { name: 'Back' }, { timeout: 5000 }));
const posts = () =>
  requests.filter(r => r.method === 'POST' && r.path.includes('/virtualmachines'));

describe('CreateWizard', () => {
  it('checks each step, previews denials with a dry run, then creates the VM and opens it', async () => {
    renderInHeadlamp(<CreateWizard />, {
      path: '/c/test/vmplane/vms/create?namespace=team-a',
      handlers,
    });
    await screen.findByTestId('wizard-step-namespace');
    // Next without a name names what is missing.
    await next();
    expect(await screen.findByText('Give the VM a name.')).toBeInTheDocument();
    await userEvent.type(screen.getByRole('textbox', { name: 'Name' }), 'web-1');
    // The networks team-a may use, beside the pod network: not prod-net (env=prod), not the pod
    // network a second time.
    await userEvent.click(screen.getByRole('combobox', { name: /^Network/ }));
    const options = within(await screen.findByRole('listbox')).getAllByRole('option');
    expect(options.map(o => o.textContent)).toEqual([
      'Pod network only',
      'lab — L2, DHCP',
      'vlan20 — L2, VLAN 20, 10.20.0.0/24, 9 of 10 addresses free',
    ]);
    await userEvent.click(options[2]!);
    await next();

    // Only the classes open to team-a, with their size and reservation.
    const classes = await screen.findByRole('radiogroup', { name: 'Class' });
    await waitFor(() => expect(within(classes).getAllByRole('radio')).toHaveLength(2));
    expect(
      within(classes)
        .getAllByRole('radio')
        .map(r => r.closest('label')?.textContent)
    ).toEqual(['big — 16 vCPU, 64 GiB, Guaranteed', 'small — 2 vCPU, 4 GiB, BestEffort']);
    await userEvent.click(screen.getByRole('radio', { name: /^big/ }));
    await next();
    await userEvent.click(
      await screen.findByRole('radio', { name: /^ubuntu \(cluster library\) — Ubuntu 24.04, 10Gi/ })
    );
    await next();
    await next();
    await next();

    // Review: a server-side dry run, and every reason for the denial; Create stays disabled.
    const denials = await screen.findByTestId('denials');
    expect(
      within(denials)
        .getAllByRole('listitem')
        .map(li => li.textContent)
    ).toEqual([
      'policy "limits" rule maxCPUs: 16 vCPUs is more than 4',
      'policy "limits" rule maxMemory: 64Gi is more than 16Gi',
    ]);
    expect(screen.getByRole('button', { name: 'Create' })).toBeDisabled();
    expect(posts()).toEqual([
      {
        method: 'POST',
        path: '/apis/vmplane.io/v1alpha1/namespaces/team-a/virtualmachines?dryRun=All&fieldValidation=Strict',
        contentType: 'application/json',
        body: {
          apiVersion: 'vmplane.io/v1alpha1',
          kind: 'VirtualMachine',
          metadata: { name: 'web-1', namespace: 'team-a' },
          spec: {
            className: 'big',
            image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu' },
            powerState: 'PoweredOn',
            network: { interfaces: [{ name: 'default' }, { name: 'nic1', network: 'vlan20' }] },
          },
        },
      },
    ]);

    // Fix the class: the dry run passes, with the webhook's warning and defaults shown.
    for (let i = 0; i < 4; i++) await back();
    await userEvent.click(screen.getByRole('radio', { name: /^small/ }));
    for (let i = 0; i < 4; i++) await next();
    const preview = await screen.findByTestId('policy-preview');
    await waitFor(() => expect(preview).toHaveTextContent('The API server would accept this VM'));
    expect(preview).toHaveTextContent('Class small · boot disk on standard');
    expect(within(screen.getByTestId('warnings')).getByRole('listitem')).toHaveTextContent(
      'policy "tags" (audit): label owner is missing'
    );

    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() =>
      expect(screen.getByTestId('location')).toHaveTextContent('/c/test/vmplane/vms/team-a/web-1')
    );
    const created = posts().at(-1)!;
    expect(created.path).toBe(
      '/apis/vmplane.io/v1alpha1/namespaces/team-a/virtualmachines?fieldValidation=Strict'
    );
    expect((created.body as { spec: object }).spec).toEqual({
      className: 'small',
      image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu' },
      powerState: 'PoweredOn',
      network: { interfaces: [{ name: 'default' }, { name: 'nic1', network: 'vlan20' }] },
    });
  });
});
