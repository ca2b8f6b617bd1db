import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { ConfirmDialog } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import {
  Alert,
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  MenuItem,
  Stack,
  TextField,
} from '@mui/material';
import { type ReactNode, useEffect, useMemo, useState } from 'react';
import { call, useCanI } from '../cluster-calls';
import { displayStatus } from '../logic/format';
import { ANY_NODE, migrateRequest, targetNodes } from '../logic/migrate';
import {
  actionButtons,
  type ActionRequest,
  actionRequest,
  DESTRUCTIVE,
  type PowerAction,
} from '../logic/requests';
import { VirtualMachine } from '../resources';

const LABELS: Record<PowerAction, string> = {
  start: 'Start',
  stop: 'Stop',
  restart: 'Restart',
  pause: 'Pause',
  resume: 'Resume',
};

const ALL: PowerAction[] = ['start', 'stop', 'restart', 'pause', 'resume'];

/**
 * Sends a header action's request: whether one is under way, and what the server answered (the
 * text for success from the warnings it sent, the text for a refusal from its message).
 */
function useSender() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  async function send(
    req: ActionRequest,
    says: { done: (warnings: string[]) => string; failed: (message: string) => string }
  ) {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const r = await call(req.path, {
        method: req.method,
        body: req.body,
        contentType: req.contentType,
      });
      setDone(says.done(r.warnings));
    } catch (e) {
      setError(says.failed((e as Error).message));
    } finally {
      setBusy(false);
    }
  }
  return {
    busy,
    error,
    done,
    send,
    clearError: () => setError(null),
    clearDone: () => setDone(null),
  };
}

/** Runs power actions on one VM. */
function usePowerActions(namespace: string, name: string) {
  const { t } = useTranslation();
  const sender = useSender();
  const run = (action: PowerAction) =>
    sender.send(actionRequest(action, namespace, name), {
      done: warnings =>
        [t('{{action}} requested', { action: t(LABELS[action]) }), ...warnings].join(' — '),
      failed: message =>
        t('Could not {{action}} {{name}}: {{message}}', {
          action: t(LABELS[action]).toLowerCase(),
          name,
          message,
        }),
    });
  return { ...sender, run };
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
 * Where to migrate the VM: any other node (KubeVirt picks one), or one named. The nodes are listed
 * when the user may list them; otherwise only "any other node" is offered.
 */
function MigrateDialog({
  name,
  current,
  onClose,
  onMigrate,
}: {
  name: string;
  current: string | undefined;
  onClose: () => void;
  onMigrate: (toNode: string) => void;
}) {
  const { t } = useTranslation();
  const [nodes, setNodes] = useState<string[]>([]);
  const [toNode, setToNode] = useState(ANY_NODE);
  useEffect(() => {
    let live = true;
    call<{ items: { metadata: { name: string } }[] }>('/api/v1/nodes')
      .then(r => live && setNodes((r.body?.items ?? []).map(n => n.metadata.name)))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  return (
    <Dialog open onClose={onClose} aria-labelledby="migrate-title">
      <DialogTitle id="migrate-title">{t('Migrate {{name}}', { name })}</DialogTitle>
      <DialogContent>
        <p>
          {t(
            'The VM moves to another node while it runs (live migration). It needs shared disks and a migratable network; otherwise KubeVirt refuses and says why.'
          )}
        </p>
        <TextField
          select
          fullWidth
          label={t('Target node')}
          value={toNode}
          onChange={e => setToNode(e.target.value)}
          inputProps={{ 'aria-label': t('Target node') }}
        >
          <MenuItem value={ANY_NODE}>{t('Any other node')}</MenuItem>
          {targetNodes(nodes, current).map(n => (
            <MenuItem key={n} value={n}>
              {n}
            </MenuItem>
          ))}
        </TextField>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>{t('Cancel')}</Button>
        <Button variant="contained" onClick={() => onMigrate(toNode)}>
          {t('Migrate')}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** Sends a live migration, as the power actions are sent. */
function useMigrate(namespace: string, name: string) {
  const { t } = useTranslation();
  const sender = useSender();
  const migrate = (toNode: string) =>
    sender.send(migrateRequest(namespace, name, toNode), {
      done: () =>
        toNode ? t('Migration to {{node}} requested', { node: toNode }) : t('Migration requested'),
      failed: message => t('Could not migrate {{name}}: {{message}}', { name, message }),
    });
  return { ...sender, migrate };
}

/** The Migrate button (shown when RBAC allows it, enabled while the VM runs), its dialog, its result. */
function useMigrateAction(o: {
  namespace: string;
  name: string;
  allowed: boolean;
  running: boolean;
  current: string | undefined;
}): { button: ReactNode; rest: ReactNode } {
  const { t } = useTranslation();
  const moving = useMigrate(o.namespace, o.name);
  const [open, setOpen] = useState(false);
  const button = o.allowed && (
    <Button
      size="small"
      variant="outlined"
      disabled={!o.running || moving.busy}
      onClick={() => setOpen(true)}
    >
      {t('Migrate')}
    </Button>
  );
  const rest = (
    <>
      {open && (
        <MigrateDialog
          name={o.name}
          current={o.current}
          onClose={() => setOpen(false)}
          onMigrate={toNode => {
            setOpen(false);
            moving.migrate(toNode);
          }}
        />
      )}
      {moving.error && (
        <Alert severity="error" role="alert" onClose={moving.clearError} sx={{ mt: 1 }}>
          {moving.error}
        </Alert>
      )}
      {moving.done && (
        <Alert severity="success" onClose={moving.clearDone} sx={{ mt: 1 }}>
          {moving.done}
        </Alert>
      )}
    </>
  );
  return { button, rest };
}

/**
 * Start, Stop, Restart, Pause/Resume and Migrate for one VM. Buttons follow the state matrix, are
 * hidden when RBAC says no, ask before stopping or restarting (and where to migrate), and show
 * the server's error.
 */
export function VmActions({ vm }: { vm: VirtualMachine }) {
  const { t } = useTranslation();
  const namespace = vm.getNamespace() ?? '';
  const name = vm.getName();
  const questions = useMemo(() => {
    const q: Record<string, ReturnType<typeof actionRequest>['access']> = {};
    for (const a of ALL) q[a] = actionRequest(a, namespace, name).access;
    q.migrate = migrateRequest(namespace, name, ANY_NODE).access;
    return q;
  }, [namespace, name]);
  const rbac = useCanI(questions);
  const [confirm, setConfirm] = useState<PowerAction | null>(null);
  const { busy, error, done, run, clearError, clearDone } = usePowerActions(namespace, name);
  const status = displayStatus(vm.jsonData);
  const migrate = useMigrateAction({
    namespace,
    name,
    allowed: rbac?.migrate === true,
    running: status === 'Running',
    current: vm.status?.nodeName,
  });
  const buttons = actionButtons(
    status,
    rbac as Partial<Record<PowerAction, boolean>> | undefined,
    busy
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
        {migrate.button}
      </Stack>
      {migrate.rest}
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
