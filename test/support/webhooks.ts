// The webhooks as integration tests run them: in the test process, on the shared control plane,
// registered under a scope of their own (namespace vmplane-<scope>, configurations named
// …-<scope>) so that test files running side by side never see each other's requests.
import pino from 'pino';
import {
  startWebhooks,
  unregisterWebhooks,
  type RunningWebhooks,
  type WebhookOptions,
} from '../../webhooks/src/main.ts';
import { kubeConfig } from './cluster.ts';

/** Starts the webhooks registered for `scope`, silent unless `options` gives a logger. */
export function startScopedWebhooks(
  scope: string,
  options: Partial<WebhookOptions> = {},
): Promise<RunningWebhooks> {
  return startWebhooks({
    kc: kubeConfig(),
    namespace: `vmplane-${scope}`,
    register: { endpoint: 'self', scope },
    logger: pino({ level: 'silent' }),
    ...options,
  });
}

/** Removes the registration first (nothing calls a stopped server), then stops the webhooks. */
export async function stopScopedWebhooks(webhooks: RunningWebhooks | undefined): Promise<void> {
  if (!webhooks) return;
  await unregisterWebhooks(kubeConfig(), webhooks.configNames);
  await webhooks.stop();
}
