import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { ConfirmDialog } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { Alert, Box, Button, Stack } from '@mui/material';
import { useMemo, useState } from 'react';
import { call, useCanI } from '../cluster-calls';
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

const ALL: PowerAction[] = ['start', 'stop', 'restart', 'pause', 'resume'];

/** Runs power actions on one VM: which one is running, and what the server answered. */
function usePowerActions(namespace: string, name: string) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState<PowerAction | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
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
      const action_ = t(LABELS[action]).toLowerCase();
      setError(
        t('Could not {{action}} {{name}}: {{message}}', {
          action: action_,
          name,
          message: (e as Error).message,
        })
      );
    } finally {
      setBusy(null);
    }
  }
  return {
    busy,
    error,
    done,
    run,
    clearError: () => setError(null),
    clearDone: () => setDone(null),
  };
}

/** Asks before stopping or restarting, saying what is lost. */
function ConfirmAction({
  action,
  name,
  onClose,
  onConfirm,
}: {
  action: PowerAction;
  name: string;
  onClose: () => void;
  onConfirm: () => void;
}) {
  const { t } = useTranslation();
  return (
    <ConfirmDialog
      open
      title={t('{{action}} {{name}}?', { action: t(LABELS[action]), name })}
      description={
        action === 'stop'
          ? t('The guest is asked to shut down; unsaved work in it is lost. Its disks are kept.')
          : t('The VM restarts on a new instance; unsaved work in the guest is lost.')
      }
      confirmLabel={t(LABELS[action])}
      cancelLabel={t('Cancel')}
      handleClose={onClose}
      onConfirm={onConfirm}
    />
  );
}

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
    for (const a of ALL) q[a] = actionRequest(a, namespace, name).access;
    return q;
  }, [namespace, name]);
  const rbac = useCanI(questions);
  const [confirm, setConfirm] = useState<PowerAction | null>(null);
  const { busy, error, done, run, clearError, clearDone } = usePowerActions(namespace, name);
  const buttons = actionButtons(
    displayStatus(vm.jsonData),
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
        <ConfirmAction
          action={confirm}
          name={name}
          onClose={() => setConfirm(null)}
          onConfirm={() => {
            setConfirm(null);
            run(confirm);
          }}
        />
      )}
      {error && (
        <Alert severity="error" role="alert" onClose={clearError} sx={{ mt: 1 }}>
          {error}
        </Alert>
      )}
      {done && (
        <Alert severity="success" onClose={clearDone} sx={{ mt: 1 }}>
          {done}
        </Alert>
      )}
    </Box>
  );
}
