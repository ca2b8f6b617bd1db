import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { TextField } from '@mui/material';
import type { StepProps } from './types';

export function CloudInitStep({ s, update, err }: StepProps) {
  const { t } = useTranslation();
  return (
    <TextField
      label={t('cloud-init user data (optional)')}
      multiline
      minRows={8}
      fullWidth
      value={s.cloudInit}
      placeholder={
        '#cloud-config\nusers:\n  - name: admin\n    ssh_authorized_keys: [ssh-ed25519 AAAA...]'
      }
      onChange={e => update({ cloudInit: e.target.value })}
      {...err('cloudInit')}
      inputProps={{ style: { fontFamily: 'monospace' } }}
    />
  );
}
