import '@xterm/xterm/css/xterm.css';
import { ApiProxy, useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { SectionBox } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { Alert, Box, Button, Stack, Typography } from '@mui/material';
import { useEffect, useRef, useState } from 'react';
import { consoleAvailable, consolePath } from '../logic/console';
import { displayStatus } from '../logic/format';
import { VirtualMachine } from '../resources';
import { loadXterm } from '../xterm';

type State = 'loading' | 'connecting' | 'connected' | 'disconnected';

type Xterm = Awaited<ReturnType<typeof loadXterm>>;

/**
 * Opens the console stream into a terminal: output is written to it, typed keys are sent as
 * bytes, and the socket's state is reported. Returns what closes it all.
 */
function connectTerminal(
  { Terminal, FitAddon }: Xterm,
  el: HTMLElement,
  path: string,
  setState: (s: State) => void
): () => void {
  const term = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 13, rows: 24 });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(el);
  try {
    fit.fit();
  } catch {
    // Hidden tabs have no layout; the default 80x24 stays.
  }
  setState('connecting');
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let connected = false;
  const stream = ApiProxy.stream(
    path,
    (data: unknown) => {
      if (typeof data === 'string') term.write(data);
      else if (data instanceof ArrayBuffer)
        term.write(decoder.decode(new Uint8Array(data), { stream: true }));
    },
    {
      isJson: false,
      additionalProtocols: ['plain.kubevirt.io'],
      reconnectOnFailure: false,
      // Headlamp calls connectCb before the socket opens, so the state comes from the socket.
      failCb: () => setState('disconnected'),
    }
  );
  const socketWatch = window.setInterval(() => {
    const s = stream.getSocket();
    if (s && s.readyState === WebSocket.OPEN && !connected) {
      connected = true;
      setState('connected');
    }
    if (s && s.readyState === WebSocket.CLOSED) setState('disconnected');
  }, 250);
  const input = term.onData(d => {
    const s = stream.getSocket();
    if (s && s.readyState === WebSocket.OPEN) s.send(encoder.encode(d));
  });
  return () => {
    window.clearInterval(socketWatch);
    input.dispose();
    stream.cancel();
    term.dispose();
  };
}

const STATE_LABELS: Record<State, string> = {
  connected: 'Connected',
  connecting: 'Connecting…',
  loading: 'Loading the terminal…',
  disconnected: 'Disconnected',
};

/** The VM's serial console: KubeVirt's console subresource (plain.kubevirt.io) in an xterm. */
export function VmConsole({ vm }: { vm: VirtualMachine }) {
  const { t } = useTranslation();
  const status = displayStatus(vm.jsonData);
  const available = consoleAvailable(status);
  const [attempt, setAttempt] = useState(0);
  const [state, setState] = useState<State>('loading');
  const [loadError, setLoadError] = useState<string | null>(null);
  const host = useRef<HTMLDivElement>(null);
  const namespace = vm.getNamespace() ?? '';
  const name = vm.getName();

  useEffect(() => {
    if (!available || !host.current) return;
    const el = host.current;
    let closed = false;
    let cleanup: () => void = () => undefined;
    setState('loading');
    setLoadError(null);
    loadXterm().then(
      xterm => {
        if (!closed) cleanup = connectTerminal(xterm, el, consolePath(namespace, name), setState);
      },
      (e: Error) => {
        if (closed) return;
        setLoadError(e.message);
        setState('disconnected');
      }
    );
    return () => {
      closed = true;
      cleanup();
    };
  }, [available, attempt, namespace, name]);

  if (!available) {
    return (
      <SectionBox title={t('Serial console')}>
        <Alert severity="info">
          {t(
            'The serial console is available while the VM runs; it is {{status}}. Start it to connect.',
            { status }
          )}
        </Alert>
      </SectionBox>
    );
  }
  return (
    <SectionBox title={t('Serial console')}>
      <Stack direction="row" spacing={2} alignItems="center" mb={1}>
        <Typography data-testid="console-state">{t(STATE_LABELS[state])}</Typography>
        {state === 'disconnected' && (
          <Button size="small" variant="outlined" onClick={() => setAttempt(n => n + 1)}>
            {t('Reconnect')}
          </Button>
        )}
      </Stack>
      {loadError && (
        <Alert severity="error" role="alert" sx={{ mb: 1 }}>
          {loadError}
        </Alert>
      )}
      <Box ref={host} data-testid="console" sx={{ minHeight: 320, bgcolor: '#000', p: 1 }} />
    </SectionBox>
  );
}
