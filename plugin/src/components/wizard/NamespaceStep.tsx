import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { MenuItem, Stack, TextField } from '@mui/material';
import type { StepProps } from './types';

export function NamespaceStep({
  s,
  update,
  err,
  namespaces,
}: StepProps & { namespaces: string[] }) {
  const { t } = useTranslation();
  return (
    <Stack spacing={2}>
      <TextField
        select
        label={t('Namespace')}
        value={s.namespace}
        onChange={e => update({ namespace: e.target.value, className: '', image: null })}
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
    </Stack>
  );
}
