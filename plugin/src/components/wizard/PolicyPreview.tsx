import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { Alert, AlertTitle, Box, CircularProgress, Stack, Typography } from '@mui/material';
import type { DryRun } from './useDryRun';

function Bullets({ items }: { items: string[] }) {
  return (
    <ul style={{ margin: 0, paddingLeft: 20 }}>
      {items.map(d => (
        <li key={d}>{d}</li>
      ))}
    </ul>
  );
}

/** What the server-side dry run said: accepted (with the defaults applied), denied, or failed. */
export function PolicyPreview({ dryRun }: { dryRun: DryRun | null }) {
  const { t } = useTranslation();
  if (!dryRun || dryRun.state === 'running') {
    return (
      <Stack direction="row" spacing={1} alignItems="center">
        <CircularProgress size={18} />
        <Typography>
          {t('Checking classes, storage and policies with a server-side dry run…')}
        </Typography>
      </Stack>
    );
  }
  const spec = dryRun.result?.spec;
  return (
    <Box data-testid="policy-preview">
      {dryRun.state === 'allowed' && (
        <Alert severity="success">
          <AlertTitle>{t('The API server would accept this VM')}</AlertTitle>
          {spec?.className && t('Class {{c}}', { c: spec.className })}
          {spec?.bootDisk?.storageClassName &&
            ` · ${t('boot disk on {{sc}}', { sc: spec.bootDisk.storageClassName })}`}
        </Alert>
      )}
      {dryRun.state === 'denied' && (
        <Alert severity="error" role="alert" data-testid="denials">
          <AlertTitle>{t('Denied — change your choices and try again')}</AlertTitle>
          <Bullets items={dryRun.denials} />
        </Alert>
      )}
      {dryRun.state === 'error' && (
        <Alert severity="error" role="alert">
          {t('The dry run failed: {{m}}', { m: dryRun.message ?? '' })}
        </Alert>
      )}
      {dryRun.warnings.length > 0 && (
        <Alert severity="warning" sx={{ mt: 1 }} data-testid="warnings">
          <AlertTitle>{t('Warnings')}</AlertTitle>
          <Bullets items={dryRun.warnings} />
        </Alert>
      )}
    </Box>
  );
}
