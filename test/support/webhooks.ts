// The webhooks as integration tests run them: in the test process, on the shared control plane,
// registered under a scope of their own (namespace vmplane-<scope>, configurations named
// …-<scope>) so that test files running side by side never see each other's requests. Like the
// sandbox, they accept admission reviews only from the control plane's kube-apiserver (its
// webhook client certificate), unless a test passes `clientAuth: 'none'` (as on managed clusters).
import pino from 'pino';
import {
  startWebhooks,
  unregisterWebhooks,
  type RunningWebhooks,
  type WebhookOptions,
} from '../../webhooks/src/main.ts';
import { inject } from 'vitest';
import type { ClientAuth } from '../../webhooks/src/client-auth.ts';
import { kubeConfig } from './cluster.ts';

/** The client authentication that accepts the shared control plane's kube-apiserver only. */
export function apiServerOnly(): ClientAuth {
  return { caPem: inject('webhookClientCa'), allowedNames: inject('webhookClientName').split(',') };
}

/** Starts the webhooks registered for `scope`, silent unless `options` gives a logger. */
export function startScopedWebhooks(
  scope: string,
  options: Partial<Omit<WebhookOptions, 'clientAuth'>> & { clientAuth?: ClientAuth | 'none' } = {},
): Promise<RunningWebhooks> {
  const { clientAuth = apiServerOnly(), ...rest } = options;
  return startWebhooks({
    kc: kubeConfig(),
    namespace: `vmplane-${scope}`,
    register: { endpoint: 'self', scope },
    logger: pino({ level: 'silent' }),
    ...(clientAuth === 'none' ? {} : { clientAuth }),
    ...rest,
  });
}

/** Removes the registration first (nothing calls a stopped server), then stops the webhooks. */
export async function stopScopedWebhooks(webhooks: RunningWebhooks | undefined): Promise<void> {
  if (!webhooks) return;
  await unregisterWebhooks(kubeConfig(), webhooks.configNames);
  await webhooks.stop();
}
