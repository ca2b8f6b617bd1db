// Keeps the VM DELETE webhook's rules in step with the policies: registered while a policy checks
// deletions, empty otherwise. Every replica does this (the same patch, so they agree), on each
// policy change and every minute (a `helm upgrade` puts the chart's empty rules back).
import type { Logger } from 'pino';
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import { checksDeletes } from '../../policy/src/index.ts';
import { isNotFound, type KubeRest } from '../../kube/src/rest.ts';
import { VM_DELETE_WEBHOOK, vmDeleteRules } from './registration.ts';

const RESYNC_MS = 60_000;

export interface DeleteRegistrationOptions {
  rest: KubeRest;
  /** The ValidatingWebhookConfiguration holding the VM DELETE webhook. */
  configName: string;
  /** The scope suffix of webhook names (tests), if any. */
  scope?: string;
  policies: () => VirtualMachinePolicy[];
  /** Subscribe to policy changes. */
  onPolicyChange: (handler: () => void) => void;
  log: Logger;
}

export class DeleteRegistration {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(private readonly o: DeleteRegistrationOptions) {}

  start(): void {
    this.o.onPolicyChange(() => this.sync());
    this.timer = setInterval(() => this.sync(), RESYNC_MS);
    this.timer.unref();
    this.sync();
  }

  /** Whether the rules are being written; resolves when the latest write is done. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Coalesces bursts of policy events into one write at a time. */
  private sync(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.write()
      .catch((e: unknown) =>
        this.o.log.warn({ err: (e as Error).message }, 'could not update the VM DELETE webhook'),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.sync();
        }
      });
  }

  private async write(): Promise<void> {
    const name = `${VM_DELETE_WEBHOOK}${this.o.scope ? `.${this.o.scope}` : ''}`;
    const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${this.o.configName}`;
    const on = checksDeletes(this.o.policies());
    let current: { webhooks?: { name: string; rules?: unknown[] }[] };
    try {
      current = (await this.o.rest.request<typeof current>('GET', path)).body;
    } catch (e) {
      if (isNotFound(e)) return; // not registered (yet)
      throw e;
    }
    const hook = current.webhooks?.find((w) => w.name === name);
    if (!hook || (hook.rules?.length ?? 0) > 0 === on) return;
    // Webhooks merge by name in a strategic merge patch; the rules list is replaced whole.
    await this.o.rest.request('PATCH', path, {
      body: { webhooks: [{ name, rules: vmDeleteRules(on) }] },
      contentType: 'application/strategic-merge-patch+json',
    });
    this.o.log.info({ registered: on }, 'VM DELETE webhook rules updated');
  }
}
