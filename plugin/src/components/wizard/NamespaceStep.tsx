import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { MenuItem, Stack, TextField } from '@mui/material';
import type { NetworkChoice } from '../../logic/networks';
import type { StepProps } from './types';

/**
 * The namespace, the name, and the networks: the pod network always, and a Network for a second
 * interface among those the namespace may use (they depend on the namespace, so they are chosen
 * with it).
 */
export function NamespaceStep({
  s,
  update,
  err,
  namespaces,
  networks,
}: StepProps & { namespaces: string[]; networks: NetworkChoice[] }) {
  const { t } = useTranslation();
  return (
    <Stack spacing={2}>
      <TextField
        select
        label={t('Namespace')}
        value={s.namespace}
        onChange={e =>
          update({ namespace: e.target.value, className: '', image: null, network: '' })
        }
        {...err('namespace')}
        inputProps={{ 'data-testid': 'namespace' }}
      >
        {namespaces.map(n => (
          <MenuItem key={n} value={n}>
            {n}
          </MenuItem>
        ))}
      </TextField>
      <TextField
        label={t('Name')}
        value={s.name}
        onChange={e => update({ name: e.target.value.trim() })}
        {...err('name')}
      />
      <TextField
        select
        label={t('Network')}
        value={s.network}
        onChange={e => update({ network: e.target.value })}
        helperText={t('Every VM is on the pod network; a Network adds a second interface.')}
        inputProps={{ 'data-testid': 'network' }}
      >
        <MenuItem value="">{t('Pod network only')}</MenuItem>
        {networks.map(n => (
          <MenuItem key={n.name} value={n.name} disabled={n.full}>
            {n.full ? `${n.label} (${t('no address free')})` : n.label}
          </MenuItem>
        ))}
      </TextField>
    </Stack>
  );
}
