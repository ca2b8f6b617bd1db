// The local engine on the test control plane, scoped to one namespace: KubeVirt's CRDs, the
// engine's controller with the tiny Linux and its library, and what tests ask of it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  localEngine,
  type LocalEngine,
  type LocalEngineOptions,
} from '../../engine/src/controller.ts';
import { TINY_LINUX_URL, tinyLinuxLibrary } from '../../engine/src/main.ts';
import { ensureTinyLinux } from '../../engine/src/tiny-linux.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { cacheRoot } from '../../kube/src/go-build.ts';
import { Manager } from '../../kube/src/manager.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { createNamespace, kubeConfig } from './cluster.ts';
import { installEngineCrds } from './kubevirt.ts';

export type Obj = {
  metadata: { uid?: string; name?: string };
  spec: Record<string, unknown>;
  status?: Record<string, any>;
};

export interface TestEngine {
  ns: string;
  rest: KubeRest;
  engine: LocalEngine;
  stateDir: string;
  get(path: string): Promise<Obj | undefined>;
  vmPath(name: string): string;
  vmiPath(name: string): string;
  /** Waits (90 s at most) until the probe gives something. */
  until<T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T>;
  stop(): Promise<void>;
}

/** What the machine can give VMs, as the engine is told: tests may change it. */
export const machine = { availableBytes: 8 * 2 ** 30 };

/** `extra`: engine options a test adds (the provisioners it plays, say). */
export async function startTestEngine(
  prefix: string,
  extra: Partial<LocalEngineOptions> = {},
): Promise<TestEngine> {
  const rest = new KubeRest(kubeConfig());
  await installEngineCrds(kubeConfig());
  const ns = await createNamespace(prefix);
  const stateDir = mkdtempSync(
    join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-${prefix}-`),
  );
  const image = await ensureTinyLinux(cacheRoot(), () => undefined);
  const manager = new Manager({
    kc: kubeConfig(),
    logger: pino({ level: 'silent' }),
    scope: (o) => o.metadata?.namespace === ns,
  });
  const engine = localEngine(manager, {
    stateDir,
    image,
    library: [tinyLinuxLibrary(image)],
    memoryCapBytes: 256 * 2 ** 20,
    memoryBudgetBytes: () => machine.availableBytes,
    maxGraceMs: 1_000,
    unschedulableRetryMs: 500,
    ...extra,
  });
  manager.add(engine.definition);
  await manager.start();
  return {
    ns,
    rest,
    engine,
    stateDir,
    get: (path) => getLive<Obj>(rest, path),
    vmPath: (name) => `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/${name}`,
    vmiPath: (name) => `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}`,
    until: (what, probe) =>
      waitUntil(what, probe as () => Promise<never>, 90_000, 200) as Promise<never>,
    async stop() {
      await manager.stop();
      await engine.stopAll();
      rest.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** A kubevirt.io/v1 VirtualMachine for the tests: small, with the spec's template parts given. */
export function kubevirtVm(
  ns: string,
  name: string,
  spec: { runStrategy?: string; dataVolumeTemplates?: object[] },
  template: Record<string, unknown>,
  domain: Record<string, unknown> = {},
): object {
  const { devices = {}, ...rest } = domain;
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: ns },
    spec: {
      runStrategy: 'Always',
      ...spec,
      template: {
        spec: {
          domain: { devices, memory: { guest: '128Mi' }, ...rest },
          terminationGracePeriodSeconds: 0,
          ...template,
        },
      },
    },
  };
}

/** A DataVolume template from the library's tiny Linux image. */
export function tinyDataVolume(name: string): object {
  return {
    metadata: { name },
    spec: {
      source: { http: { url: TINY_LINUX_URL } },
      storage: { resources: { requests: { storage: '64Mi' } } },
    },
  };
}
