// Audit annotations for natively enforced rules: a policy with Audit becomes a binding with Audit,
// and the API server's own audit log records the violation (annotation
// validation.policy.admission.k8s.io/validation_failure) with the policy's message. A control plane
// of its own, since the shared one keeps no audit log.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { startControllers, type RunningControllers } from '../../controllers/src/main.ts';
import { ensureBinaries } from '../../harness/src/controlplane/binaries.ts';
import { ControlPlane } from '../../harness/src/controlplane/controlplane.ts';
import { installCrds, kubeConfigFrom, waitUntil } from '../../kube/src/client.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import { vm } from '../support/builders.ts';

const MESSAGE = 'suspended VMs hold memory on their node';
let cp: ControlPlane;
let rest: KubeRest;
let controllers: RunningControllers;
let auditLog = '';

beforeAll(async () => {
  cp = new ControlPlane({
    binaries: await ensureBinaries(),
    tempPrefix: `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'x'}-native-audit-`,
    auditWrites: true,
  });
  const ep = await cp.start();
  auditLog = ep.auditLogPath ?? '';
  const kc = kubeConfigFrom(ep.kubeconfigPath);
  await installCrds(kc, join(REPO_ROOT, 'charts/vmplane/crds'));
  rest = new KubeRest(kc);
  controllers = await startControllers({ kc, logger: pino({ level: 'silent' }) });
}, 300_000);

afterAll(async () => {
  await controllers?.stop();
  rest?.close();
  await cp?.stop();
});

interface AuditEvent {
  verb: string;
  objectRef?: { resource?: string; name?: string; namespace?: string };
  annotations?: Record<string, string>;
}

describe('audit annotations of a generated binding with Audit', () => {
  it('the API server records the violation with the policy and its message', async () => {
    await rest.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'audited', labels: { team: 'a' } },
    } as KubeObjectLike);
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachinePolicy',
      metadata: { name: 'audit-suspend' },
      spec: {
        match: { namespaceSelector: { matchLabels: { team: 'a' } } },
        validationActions: ['Audit'],
        validations: [
          {
            name: 'not-suspended',
            expression: "object.spec.powerState != 'Suspended'",
            message: MESSAGE,
          },
        ],
      },
    } as KubeObjectLike);
    await waitUntil('status.enforcement with the native rule', async () => {
      const p = await getLive<VirtualMachinePolicy>(
        rest,
        '/apis/vmplane.io/v1alpha1/virtualmachinepolicies/audit-suspend',
      );
      const e = p?.status?.enforcement;
      return e?.observedGeneration === p?.metadata.generation && e?.native?.length ? e : undefined;
    });
    const spec = {
      className: 'small',
      image: { name: 'ubuntu' },
      powerState: 'Suspended',
    } as unknown as Parameters<typeof vm>[1];
    // Admitted (Audit only), and audited by the API server.
    await rest.create(vm('sleepy', spec, { namespace: 'audited' }) as unknown as KubeObjectLike);
    const event = await waitUntil('the audit event of the create', async () =>
      readFileSync(auditLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEvent)
        .find(
          (e) =>
            e.verb === 'create' &&
            e.objectRef?.resource === 'virtualmachines' &&
            e.objectRef.name === 'sleepy',
        ),
    );
    const failure = event.annotations?.['validation.policy.admission.k8s.io/validation_failure'];
    expect(failure).toBeDefined();
    expect(JSON.parse(failure ?? '[]')).toEqual([
      expect.objectContaining({
        message: `policy "audit-suspend" rule not-suspended: ${MESSAGE}`,
        policy: 'vmplane-policy-audit-suspend',
        binding: 'vmplane-policy-audit-suspend',
        validationActions: ['Audit'],
      }),
    ]);
  });
});
