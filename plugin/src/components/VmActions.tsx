import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { ConfirmDialog } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { Alert, Box, Button, Stack } from '@mui/material';
import { useMemo, useState } from 'react';
import { call, useCanI } from '../api';
import { displayStatus } from '../logic/format';
import { actionButtons, actionRequest, DESTRUCTIVE, type PowerAction } from '../logic/requests';
import { VirtualMachine } from '../resources';

const LABELS: Record<PowerAction, string> = {
  start: 'Start',
  stop: 'Stop',
  restart: 'Restart',
  pause: 'Pause',
  resume: 'Resume',
};

/**
 * Start, Stop, Restart, Pause/Resume for one VM. Buttons follow the state matrix, are hidden
 * when RBAC says no, ask before stopping or restarting, and show the server's error.
 */
export function VmActions({ vm }: { vm: VirtualMachine }) {
  const { t } = useTranslation();
  const namespace = vm.getNamespace() ?? '';
  const name = vm.getName();
  const questions = useMemo(() => {
    const q: Record<string, ReturnType<typeof actionRequest>['access']> = {};
    for (const a of ['start', 'stop', 'restart', 'pause', 'resume'] as PowerAction[])
      q[a] = actionRequest(a, namespace, name).access;
    return q;
  }, [namespace, name]);
  const rbac = useCanI(questions);
  const [busy, setBusy] = useState<PowerAction | null>(null);
  const [confirm, setConfirm] = useState<PowerAction | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const status = displayStatus(vm.jsonData);

  async function run(action: PowerAction) {
    setBusy(action);
    setError(null);
    setDone(null);
    const req = actionRequest(action, namespace, name);
    try {
      const r = await call(req.path, {
        method: req.method,
        body: req.body,
        contentType: req.contentType,
      });
      setDone(
        [t('{{action}} requested', { action: t(LABELS[action]) }), ...r.warnings].join(' — ')
      );
    } catch (e) {
      const msg = (e as Error).message;
      setError(
        t('Could not {{action}} {{name}}: {{message}}', {
          action: t(LABELS[action]).toLowerCase(),
          name,
          message: msg,
        })
      );
    } finally {
      setBusy(null);
    }
  }

  const buttons = actionButtons(
    status,
    rbac as Partial<Record<PowerAction, boolean>> | undefined,
    busy !== null
  );
  return (
    <Box>
      <Stack direction="row" spacing={1} aria-label={t('Power actions')}>
        {buttons
          .filter(b => b.visible)
          .map(b => (
            <Button
              key={b.action}
              size="small"
              variant="outlined"
              disabled={!b.enabled}
              onClick={() =>
                DESTRUCTIVE.includes(b.action) ? setConfirm(b.action) : run(b.action)
              }
            >
              {t(LABELS[b.action])}
            </Button>
          ))}
      </Stack>
      {confirm && (
        <ConfirmDialog
          open
          title={t('{{action}} {{name}}?', { action: t(LABELS[confirm]), name })}
          description={
            confirm === 'stop'
              ? t(
                  'The guest is asked to shut down; unsaved work in it is lost. Its disks are kept.'
                )
              : t('The VM restarts on a new instance; unsaved work in the guest is lost.')
          }
          confirmLabel={t(LABELS[confirm])}
          cancelLabel={t('Cancel')}
          handleClose={() => setConfirm(null)}
          onConfirm={() => {
            const a = confirm;
            setConfirm(null);
            run(a);
          }}
        />
      )}
      {error && (
        <Alert severity="error" role="alert" onClose={() => setError(null)} sx={{ mt: 1 }}>
          {error}
        </Alert>
      )}
      {done && (
        <Alert severity="success" onClose={() => setDone(null)} sx={{ mt: 1 }}>
          {done}
        </Alert>
      )}
    </Box>
  );
}
