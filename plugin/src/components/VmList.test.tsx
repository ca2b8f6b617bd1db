import { queryClient } from '@kinvolk/headlamp-plugin/lib/lib/queryClient';
import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { openedSockets } from '../../test/dom';
import { API, renderInHeadlamp, requests, vmplaneServed } from '../../test/render';
import { VmList } from './VmList';

const vms = [
  {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachine',
    metadata: {
      name: 'web',
      namespace: 'team-a',
      uid: 'u1',
      creationTimestamp: '2026-11-01T00:00:00Z',
    },
    spec: { className: 'small', image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu' } },
    status: {
      printableStatus: 'Running',
      primaryIP: '10.244.0.7',
      nodeName: 'node-1',
      class: { cpus: 2, memory: '4Gi' },
    },
  },
  {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachine',
    metadata: {
      name: 'db',
      namespace: 'team-b',
      uid: 'u2',
      creationTimestamp: '2026-11-01T00:00:00Z',
    },
    spec: { className: 'large', image: { kind: 'VirtualMachineImage', name: 'postgres' } },
    status: { printableStatus: 'ErrorUnschedulable' },
  },
];

const listed = http.get(`${API}/apis/vmplane.io/v1alpha1/virtualmachines`, () =>
  HttpResponse.json({
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachineList',
    metadata: { resourceVersion: '10' },
    items: vms,
  })
);

describe('VmList', () => {
  it('lists VMs with status, class, image, IP, node and size', async () => {
    renderInHeadlamp(<VmList />, { handlers: [vmplaneServed, listed] });
    const web = (await screen.findByRole('link', { name: 'web' })).closest('tr')!;
    const cells = within(web)
      .getAllByRole('cell')
      .map(c => c.textContent);
    expect(cells).toEqual(
      expect.arrayContaining([
        'web',
        'team-a',
        'Running',
        'small',
        'cluster/ubuntu',
        '10.244.0.7',
        'node-1',
        '2 vCPU, 4 GiB',
      ])
    );
    const db = screen.getByRole('link', { name: 'db' }).closest('tr')!;
    expect(
      within(db)
        .getAllByRole('cell')
        .map(c => c.textContent)
    ).toEqual(
      expect.arrayContaining(['db', 'team-b', 'ErrorUnschedulable', 'large', 'postgres', '-'])
    );
    expect(screen.getByRole('button', { name: 'Create VM' })).toBeInTheDocument();
    expect(requests.map(r => `${r.method} ${r.path.split('?')[0]}`)).toEqual(
      expect.arrayContaining(['GET /apis/vmplane.io/v1alpha1/virtualmachines'])
    );
    // ...and then watches from the resourceVersion the list returned, so the table stays current.
    await waitFor(() =>
      expect(openedSockets).toContain(
        'ws://localhost:4466/clusters/test/apis/vmplane.io/v1alpha1/virtualmachines?watch=1&resourceVersion=10'
      )
    );
  });

  it('asks for the list at once in a cluster already seen serving vmplane, while the check runs again', async () => {
    const first = renderInHeadlamp(<VmList />, { handlers: [vmplaneServed, listed] });
    await screen.findByRole('link', { name: 'web' });
    first.unmount();
    queryClient.clear();
    requests.length = 0;
    // The second check is held: the list must not wait for it.
    let answer = () => {};
    const held = new Promise<void>(resolve => (answer = resolve));
    const heldCheck = http.get(`${API}/apis/vmplane.io/v1alpha1`, async () => {
      await held;
      return HttpResponse.json({ kind: 'APIResourceList', resources: [] });
    });
    renderInHeadlamp(<VmList />, { handlers: [heldCheck, listed] });
    await waitFor(() =>
      expect(requests.map(r => r.path.split('?')[0])).toContain(
        '/apis/vmplane.io/v1alpha1/virtualmachines'
      )
    );
    expect(requests.map(r => r.path)).toContain('/apis/vmplane.io/v1alpha1');
    expect(await screen.findByRole('link', { name: 'web' })).toBeInTheDocument();
    answer();
  });

  it('shows how to install vmplane when its API is not served, and lists nothing', async () => {
    renderInHeadlamp(<VmList />, {
      handlers: [
        http.get(`${API}/apis/vmplane.io/v1alpha1`, () =>
          HttpResponse.json({ kind: 'Status', code: 404, message: 'not found' }, { status: 404 })
        ),
      ],
    });
    const banner = await screen.findByRole('alert');
    expect(banner).toHaveTextContent('vmplane is not installed in this cluster');
    expect(banner).toHaveTextContent('helm install vmplane');
    expect(requests.some(r => r.path.startsWith('/apis/vmplane.io/v1alpha1/virtualmachines'))).toBe(
      false
    );
  });
});
