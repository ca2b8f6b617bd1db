import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { Alert, AlertTitle, Box, CircularProgress, Typography } from '@mui/material';
import { ReactNode } from 'react';
import { useVmplaneInstalled } from '../cluster-calls';

/** Renders its children when vmplane's API is served; otherwise how to install it. */
export function InstallCheck({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const installed = useVmplaneInstalled();
  if (installed === undefined) {
    return (
      <Box display="flex" justifyContent="center" p={4}>
        <CircularProgress aria-label={t('Checking whether vmplane is installed')} />
      </Box>
    );
  }
  if (!installed) {
    return (
      <Box p={2}>
        <Alert severity="info" role="alert">
          <AlertTitle>{t('vmplane is not installed in this cluster')}</AlertTitle>
          <Typography>
            {t(
              'The vmplane.io API is not served here, so there are no virtual machines to show. Install vmplane with Helm:'
            )}
          </Typography>
          <Box component="pre" sx={{ m: 1, p: 1, bgcolor: 'action.hover', overflowX: 'auto' }}>
            helm install vmplane oci://ghcr.io/vmplane/charts/vmplane --namespace vmplane-system
            --create-namespace
          </Box>
          <Typography>
            {t(
              'vmplane runs VMs on KubeVirt (and disks on CDI when present); install KubeVirt first for VMs to start.'
            )}
          </Typography>
        </Alert>
      </Box>
    );
  }
  return <>{children}</>;
}
