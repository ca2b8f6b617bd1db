import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { accessReviews, API, renderInHeadlamp, requests, statusError } from '../../test/render';
import { VirtualMachine } from '../resources';
import { VmActions } from './VmActions';

const VM_PATH = '/apis/vmplane.io/v1alpha1/namespaces/team-a/virtualmachines/web';

function vm(printableStatus: string) {
  return new VirtualMachine({
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachine',
    metadata: {
      name: 'web',
      namespace: 'team-a',
      uid: 'u1',
      creationTimestamp: '2026-11-01T00:00:00Z',
    },
    spec: { className: 'small', powerState: 'PoweredOn' },
    status: { printableStatus },
  } as never);
}

const patched = http.patch(`${API}${VM_PATH}`, () => HttpResponse.json({}));
const buttons = async () => {
  const bar = await screen.findByLabelText('Power actions');
  await waitFor(() => expect(within(bar).queryAllByRole('button').length).toBeGreaterThan(0));
  return Object.fromEntries(
    within(bar)
      .getAllByRole('button')
      .map(b => [b.textContent, (b as HTMLButtonElement).disabled ? 'disabled' : 'enabled'])
  );
};

/** Headlamp's ConfirmDialog labels its buttons confirm-button and cancel-button. */
function confirmIn(dialog: HTMLElement, label: string) {
  const button = within(dialog).getByRole('button', { name: 'confirm-button' });
  expect(button).toHaveTextContent(label);
  return button;
}

describe('VmActions', () => {
  it('offers what the state allows and RBAC permits, asking the API server once per action', async () => {
    renderInHeadlamp(<VmActions vm={vm('Running')} />, {
      handlers: [accessReviews(a => a.subresource === 'restart')],
    });
    expect(await buttons()).toEqual({
      Start: 'disabled',
      Stop: 'enabled',
      Pause: 'enabled',
      Migrate: 'enabled',
    });
    const reviews = requests.filter(r => r.path.includes('selfsubjectaccessreviews'));
    expect(reviews.map(r => (r.body as any).spec.resourceAttributes)).toEqual(
      expect.arrayContaining([
        {
          group: 'vmplane.io',
          resource: 'virtualmachines',
          verb: 'patch',
          namespace: 'team-a',
          name: 'web',
        },
        {
          group: 'subresources.kubevirt.io',
          resource: 'virtualmachines',
          subresource: 'restart',
          verb: 'update',
          namespace: 'team-a',
          name: 'web',
        },
      ])
    );
  });

  it('Start sends a merge patch of spec.powerState and says so', async () => {
    renderInHeadlamp(<VmActions vm={vm('Stopped')} />, { handlers: [accessReviews(), patched] });
    expect(await buttons()).toMatchObject({ Start: 'enabled', Stop: 'disabled' });
    await userEvent.click(screen.getByRole('button', { name: 'Start' }));
    expect(await screen.findByText('Start requested')).toBeInTheDocument();
    expect(requests.filter(r => r.method === 'PATCH')).toEqual([
      {
        method: 'PATCH',
        path: VM_PATH,
        contentType: 'application/merge-patch+json',
        body: { spec: { powerState: 'PoweredOn' } },
      },
    ]);
  });

  it('Stop asks first; cancelling sends nothing, confirming sends the patch', async () => {
    renderInHeadlamp(<VmActions vm={vm('Running')} />, { handlers: [accessReviews(), patched] });
    await buttons();
    await userEvent.click(screen.getByRole('button', { name: 'Stop' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('Stop web?');
    expect(dialog).toHaveTextContent('unsaved work in it is lost');
    await userEvent.click(within(dialog).getByRole('button', { name: 'cancel-button' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(requests.some(r => r.method === 'PATCH')).toBe(false);

    await userEvent.click(screen.getByRole('button', { name: 'Stop' }));
    await userEvent.click(confirmIn(await screen.findByRole('dialog'), 'Stop'));
    await screen.findByText('Stop requested');
    expect(requests.filter(r => r.method === 'PATCH').map(r => r.body)).toEqual([
      { spec: { powerState: 'PoweredOff' } },
    ]);
  });

  it("Restart calls KubeVirt's restart subresource", async () => {
    renderInHeadlamp(<VmActions vm={vm('Running')} />, {
      handlers: [
        accessReviews(),
        http.put(
          `${API}/apis/subresources.kubevirt.io/v1/namespaces/team-a/virtualmachines/web/restart`,
          () => new HttpResponse(null, { status: 202 })
        ),
      ],
    });
    await buttons();
    await userEvent.click(screen.getByRole('button', { name: 'Restart' }));
    await userEvent.click(confirmIn(await screen.findByRole('dialog'), 'Restart'));
    await screen.findByText('Restart requested');
    expect(requests.filter(r => r.method === 'PUT').map(r => r.path)).toEqual([
      '/apis/subresources.kubevirt.io/v1/namespaces/team-a/virtualmachines/web/restart',
    ]);
  });

  it("shows the API server's refusal instead of swallowing it", async () => {
    renderInHeadlamp(<VmActions vm={vm('Running')} />, {
      handlers: [
        accessReviews(),
        http.patch(`${API}${VM_PATH}`, () =>
          statusError(
            400,
            'admission webhook "vm.vmplane.io" denied the request: policy "freeze" rule changeWindow: changes are frozen'
          )
        ),
      ],
    });
    await buttons();
    await userEvent.click(screen.getByRole('button', { name: 'Pause' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not pause web:');
    expect(alert).toHaveTextContent('policy "freeze" rule changeWindow: changes are frozen');
  });

  it('shows no button at all when RBAC refuses everything', async () => {
    renderInHeadlamp(<VmActions vm={vm('Running')} />, { handlers: [accessReviews(() => true)] });
    const bar = await screen.findByLabelText('Power actions');
    await waitFor(() =>
      expect(requests.filter(r => r.path.includes('selfsubjectaccessreviews'))).toHaveLength(6)
    );
    // Give the answers a moment to land, then nothing may be offered.
    await new Promise(r => setTimeout(r, 50));
    expect(within(bar).queryAllByRole('button')).toEqual([]);
  });

  it('Migrate asks where to, offering every other node, and calls KubeVirt’s migrate subresource', async () => {
    const migrated = http.put(
      `${API}/apis/subresources.kubevirt.io/v1/namespaces/team-a/virtualmachines/web/migrate`,
      () => new HttpResponse(null, { status: 202 })
    );
    const nodes = http.get(`${API}/api/v1/nodes`, () =>
      HttpResponse.json({
        items: [{ metadata: { name: 'node-1' } }, { metadata: { name: 'node-2' } }],
      })
    );
    const running = vm('Running');
    (running.jsonData as any).status.nodeName = 'node-1';
    renderInHeadlamp(<VmActions vm={running} />, {
      handlers: [accessReviews(), migrated, nodes],
    });
    expect(await buttons()).toMatchObject({ Migrate: 'enabled' });
    await userEvent.click(screen.getByRole('button', { name: 'Migrate' }));
    const dialog = await screen.findByRole('dialog');
    await userEvent.click(within(dialog).getByLabelText('Target node'));
    const options = await screen.findAllByRole('option');
    await waitFor(() =>
      expect(screen.getAllByRole('option').map(o => o.textContent)).toEqual([
        'Any other node',
        'node-2',
      ])
    );
    expect(options.length).toBeGreaterThan(0);
    await userEvent.click(screen.getByRole('option', { name: 'node-2' }));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Migrate' }));
    expect(await screen.findByText('Migration to node-2 requested')).toBeInTheDocument();
    expect(requests.filter(r => r.method === 'PUT')).toEqual([
      expect.objectContaining({
        path: '/apis/subresources.kubevirt.io/v1/namespaces/team-a/virtualmachines/web/migrate',
        body: {
          kind: 'MigrateOptions',
          apiVersion: 'kubevirt.io/v1',
          addedNodeSelector: { 'kubernetes.io/hostname': 'node-2' },
        },
      }),
    ]);
  });

  it('Migrate is there only for a running VM, and shows KubeVirt’s refusal', async () => {
    const refused = http.put(
      `${API}/apis/subresources.kubevirt.io/v1/namespaces/team-a/virtualmachines/web/migrate`,
      () =>
        statusError(
          500,
          'Internal error occurred: admission webhook "migration-create-validator.kubevirt.io" denied the request: Cannot migrate VMI, Reason: DisksNotLiveMigratable'
        )
    );
    const { unmount } = renderInHeadlamp(<VmActions vm={vm('Stopped')} />, {
      handlers: [accessReviews()],
    });
    expect(await buttons()).toMatchObject({ Migrate: 'disabled' });
    unmount();
    // A user who may not list nodes gets "any other node" only.
    const noNodes = http.get(`${API}/api/v1/nodes`, () => statusError(403, 'forbidden'));
    renderInHeadlamp(<VmActions vm={vm('Running')} />, {
      handlers: [accessReviews(), refused, noNodes],
    });
    await buttons();
    await userEvent.click(screen.getByRole('button', { name: 'Migrate' }));
    const dialog = await screen.findByRole('dialog');
    await userEvent.click(within(dialog).getByLabelText('Target node'));
    expect((await screen.findAllByRole('option')).map(o => o.textContent)).toEqual([
      'Any other node',
    ]);
    await userEvent.keyboard('{Escape}');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Migrate' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not migrate web: Internal error occurred: admission webhook "migration-create-validator.kubevirt.io" denied the request: Cannot migrate VMI, Reason: DisksNotLiveMigratable'
    );
  });
});
