import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import {
  Alert,
  AlertTitle,
  Box,
  Checkbox,
  FormControlLabel,
  Stack,
  Typography,
} from '@mui/material';
import type { WizardState } from '../../logic/wizard';
import { PolicyPreview } from './PolicyPreview';
import type { StepProps } from './types';
import type { DryRun } from './useDryRun';

/** The choices as the review lists them, label then value. */
function summary(
  s: WizardState,
  t: (k: string, o?: Record<string, unknown>) => string
): [string, string][] {
  const image = s.image
    ? `${s.image.name}${
        s.image.kind === 'ClusterVirtualMachineImage' ? ` (${t('cluster library')})` : ''
      }`
    : '-';
  const disks = s.disks
    .map(d => `${d.name} ${d.size}${d.storageClassName ? ` on ${d.storageClassName}` : ''}`)
    .join(', ');
  const lines = s.cloudInit.trim() ? s.cloudInit.trim().split('\n').length : 0;
  return [
    [t('Name'), `${s.namespace}/${s.name}`],
    [t('Class'), s.className],
    [t('Image'), image],
    [t('Boot disk'), s.bootDiskSize || t('image size')],
    [t('Data disks'), disks || '-'],
    [t('Networks'), s.network ? `${t('pod network')}, ${s.network}` : t('pod network')],
    [t('cloud-init'), lines ? t('{{n}} lines', { n: lines }) : '-'],
  ];
}

export function ReviewStep({
  s,
  update,
  dryRun,
  submitError,
}: StepProps & { dryRun: DryRun | null; submitError: string[] | null }) {
  const { t } = useTranslation();
  return (
    <Stack spacing={2}>
      <Box
        component="dl"
        sx={{
          display: 'grid',
          gridTemplateColumns: 'max-content 1fr',
          columnGap: 2,
          rowGap: 0.5,
          m: 0,
        }}
      >
        {summary(s, t).map(([k, v]) => (
          <Box key={k} sx={{ display: 'contents' }}>
            <Typography component="dt" fontWeight="bold">
              {k}
            </Typography>
            <Typography component="dd" sx={{ m: 0 }}>
              {v}
            </Typography>
          </Box>
        ))}
        <FormControlLabel
          control={
            <Checkbox
              checked={s.startAfterCreate}
              onChange={e => update({ startAfterCreate: e.target.checked })}
            />
          }
          label={t('Start the VM after creating it')}
        />
      </Box>
      <PolicyPreview dryRun={dryRun} />
      {submitError && (
        <Alert severity="error" role="alert" data-testid="submit-error">
          <AlertTitle>{t('The VM was not created')}</AlertTitle>
          {submitError.map(m => (
            <div key={m}>{m}</div>
          ))}
        </Alert>
      )}
    </Stack>
  );
}
