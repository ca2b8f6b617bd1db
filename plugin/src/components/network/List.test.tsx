import { screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { accessReviews, API, renderInHeadlamp, vmplaneServed } from '../../../test/render';
import { NetworkList } from './List';

const network = (name: string, spec: object, status?: object) => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'Network',
  metadata: { name, uid: name, creationTimestamp: '2026-11-01T00:00:00Z' },
  spec,
  ...(status ? { status } : {}),
});

const listed = http.get(`${API}/apis/vmplane.io/v1alpha1/networks`, () =>
  HttpResponse.json({
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'NetworkList',
    metadata: { resourceVersion: '5' },
    items: [
      network(
        'vlan100',
        {
          type: 'L2',
          l2: { vlanID: 100 },
          ipam: { staticPool: { cidr: '192.168.100.0/24' } },
          namespaceSelector: { matchLabels: { team: 'web' } },
        },
        { pool: { size: 252, allocated: 3, free: 249 } }
      ),
      network('lab', { type: 'L2', ipam: { externalDHCP: {} } }),
    ],
  })
);

describe('NetworkList', () => {
  it('lists Networks with type, VLAN, CIDR, pool usage and the namespaces that may use them', async () => {
    renderInHeadlamp(<NetworkList />, { handlers: [vmplaneServed, listed, accessReviews()] });
    const row = (name: string) =>
      within(screen.getByText(name, { selector: 'td, td *' }).closest('tr')!)
        .getAllByRole('cell')
        .map(c => c.textContent);
    await screen.findByText('vlan100');
    expect(row('vlan100')).toEqual(
      expect.arrayContaining(['vlan100', 'L2', '100', '192.168.100.0/24', '3', '249', 'team=web'])
    );
    expect(row('lab')).toEqual(expect.arrayContaining(['lab', 'L2', 'DHCP', 'all']));
  });
});
