// The virt-launcher Pod KubeVirt would run for an instance, made by the engine for each guest it
// runs, so that what the cluster knows of a running guest holds: kube-controller-manager's
// pvc-protection keeps `kubernetes.io/pvc-protection` on a claim while a Pod that has not
// terminated uses it, `kubectl get pods` shows the launcher, and the garbage collector follows the
// instance. The Pod is bound to this node (nodeName) and no kubelet runs it: the engine writes its
// status as the kubelet would from what the engine observed of QEMU (Running while the process
// runs, Succeeded or Failed once it ended), and deletes it once the instance is gone.
// Follows KubeVirt v1.7.0 pkg/virt-controller/services/template.go (name, labels, owner, the
// compute container, a volume per claim: mounted for a filesystem claim, a device for a block one).
import { splitKey } from '../../kube/src/manager.ts';
import { isNotFound } from '../../kube/src/rest.ts';
import { type EngineContext, type KvVmi } from './engine-context.ts';
import type { DiskFile } from './volumes.ts';

export const LAUNCHER_IMAGE = 'quay.io/kubevirt/virt-launcher:v1.7.0';
/** KubeVirt's grace for the launcher: the instance's grace plus 15 s (template.go). */
const LAUNCHER_EXTRA_GRACE_S = 15;

export interface PodObject {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: {
    generateName?: string;
    name?: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: object[];
  };
  spec: Record<string, unknown>;
}

/** The label of a migration's target pod: the VirtualMachineInstanceMigration's UID. */
export const MIGRATION_JOB_LABEL = 'kubevirt.io/migrationJobUID';

/** The launcher Pod of an instance (pure); the API server completes its generated name. */
export function launcherPod(
  vmi: KvVmi,
  disks: readonly DiskFile[],
  node: string,
  /** A migration's target pod carries the migration's UID (KubeVirt's migrationJobUID label). */
  migrationUid?: string,
): PodObject {
  const name = vmi.metadata?.name ?? '';
  const claims = disks.filter((d) => d.claimName);
  const block = (d: DiskFile): boolean => d.volumeMode === 'Block';
  const grace = (vmi.spec.terminationGracePeriodSeconds ?? 30) + LAUNCHER_EXTRA_GRACE_S;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `virt-launcher-${name}-`,
      namespace: vmi.metadata?.namespace ?? '',
      // The instance's labels first, as virt-controller copies them (NetworkPolicy selects by them).
      labels: {
        ...(vmi.metadata?.labels ?? {}),
        'kubevirt.io': 'virt-launcher',
        'kubevirt.io/created-by': vmi.metadata?.uid ?? '',
        'vm.kubevirt.io/name': name,
        ...(migrationUid ? { [MIGRATION_JOB_LABEL]: migrationUid } : {}),
      },
      annotations: {
        'kubevirt.io/domain': name,
        'kubectl.kubernetes.io/default-container': 'compute',
      },
      ownerReferences: [
        {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstance',
          name,
          uid: vmi.metadata?.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      nodeName: node,
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: grace,
      containers: [
        {
          name: 'compute',
          image: LAUNCHER_IMAGE,
          command: ['/usr/bin/virt-launcher-monitor', '--name', name],
          ...volumeUses(
            claims.filter((d) => !block(d)),
            claims.filter(block),
          ),
        },
      ],
      volumes: claims.map((d) => ({
        name: d.volume,
        persistentVolumeClaim: {
          claimName: d.claimName,
          ...(d.readOnly ? { readOnly: true } : {}),
        },
      })),
    },
  };
}

/** Where the compute container sees each claim (KubeVirt's paths). */
function volumeUses(files: DiskFile[], devices: DiskFile[]): object {
  return {
    ...(files.length
      ? {
          volumeMounts: files.map((d) => ({
            name: d.volume,
            mountPath: `/var/run/kubevirt-private/vmi-disks/${d.volume}`,
          })),
        }
      : {}),
    ...(devices.length
      ? { volumeDevices: devices.map((d) => ({ name: d.volume, devicePath: `/dev/${d.volume}` })) }
      : {}),
  };
}

export type LauncherState =
  | {
      phase: 'Running';
      startedAt: Date;
      /** The pod network's address (namespace mode). */ podIP?: string;
    }
  | { phase: 'Succeeded' | 'Failed'; startedAt: Date; finishedAt: Date; exitCode: number };

/** The Pod's status as the kubelet would write it for what the engine observed (pure). */
export function launcherStatus(s: LauncherState): object {
  const started = s.startedAt.toISOString();
  const running = s.phase === 'Running';
  const cond = (type: string, ok: boolean, reason?: string): object => ({
    type,
    status: ok ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: running ? started : s.finishedAt.toISOString(),
    ...(reason ? { reason } : {}),
  });
  const ended = running ? undefined : s.phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed';
  return {
    phase: s.phase,
    startTime: started,
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    ...(running && s.podIP ? { podIP: s.podIP, podIPs: [{ ip: s.podIP }] } : {}),
    conditions: [
      cond('PodReadyToStartContainers', running),
      cond('Initialized', true, ended),
      cond('Ready', running, ended),
      cond('ContainersReady', running, ended),
      cond('PodScheduled', true),
    ],
    containerStatuses: [
      {
        name: 'compute',
        image: LAUNCHER_IMAGE,
        imageID: '',
        ready: running,
        started: running,
        restartCount: 0,
        state: running
          ? { running: { startedAt: started } }
          : {
              terminated: {
                exitCode: s.exitCode,
                reason: s.exitCode === 0 ? 'Completed' : 'Error',
                startedAt: started,
                finishedAt: s.finishedAt.toISOString(),
              },
            },
      },
    ],
  };
}

const podsPath = (ns: string): string => `/api/v1/namespaces/${ns}/pods`;
const MERGE = 'application/merge-patch+json';

interface PodRef {
  metadata: {
    name: string;
    uid: string;
    namespace?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  status?: { phase?: string };
}

export const PODS = '/api/v1/pods';

/**
 * The instance a launcher Pod belongs to, as a controller key (namespace/name): what the engine
 * looks at again when one of its Pods changes (pure).
 */
export function launcherKeys(pod: {
  metadata?: { namespace?: string; labels?: Record<string, string> };
}): string[] {
  const labels = pod.metadata?.labels ?? {};
  const name = labels['vm.kubevirt.io/name'];
  return labels['kubevirt.io'] === 'virt-launcher' && name && pod.metadata?.namespace
    ? [`${pod.metadata.namespace}/${name}`]
    : [];
}

/**
 * Whether the running guest's launcher Pod is being deleted (a user's delete, or the namespace
 * controller, which deletes Pods first and waits for them): the kubelet's cue to stop it.
 */
export function launcherDeleting(ctx: EngineContext, ns: string, pod: string | undefined): boolean {
  if (!pod) return false;
  return !!ctx.manager.informer(PODS).get(pod, ns)?.metadata?.deletionTimestamp;
}

/** The launcher Pods of the instance of this name in the namespace (any of its incarnations). */
async function launcherPods(ctx: EngineContext, ns: string, vmiName: string): Promise<PodRef[]> {
  const selector = encodeURIComponent(`kubevirt.io=virt-launcher,vm.kubevirt.io/name=${vmiName}`);
  const list = await ctx.manager.rest.request<{ items: PodRef[] }>(
    'GET',
    `${podsPath(ns)}?labelSelector=${selector}`,
  );
  return list.body.items;
}

const createdBy = (p: PodRef): string | undefined => p.metadata.labels?.['kubevirt.io/created-by'];

/**
 * Makes the instance's launcher Pod on the node, unless it has one; gives its name. A migration's
 * target pod is one of its own (by the migration's UID).
 */
export async function ensureLauncherPod(
  ctx: EngineContext,
  vmi: KvVmi,
  disks: readonly DiskFile[],
  node: string,
  migrationUid?: string,
): Promise<string> {
  const ns = vmi.metadata?.namespace ?? '';
  const mine = (await launcherPods(ctx, ns, vmi.metadata?.name ?? '')).find(
    (p) =>
      createdBy(p) === vmi.metadata?.uid &&
      p.metadata.labels?.[MIGRATION_JOB_LABEL] === migrationUid &&
      p.status?.phase !== 'Succeeded' &&
      p.status?.phase !== 'Failed',
  );
  if (mine) return mine.metadata.name;
  const made = await ctx.manager.rest.request<PodRef>('POST', podsPath(ns), {
    body: launcherPod(vmi, disks, node, migrationUid),
  });
  return made.body.metadata.name;
}

/** Writes the launcher Pod's status (the kubelet's part). */
export async function setLauncherStatus(
  ctx: EngineContext,
  ns: string,
  pod: string,
  state: LauncherState,
): Promise<void> {
  await ctx.manager.rest
    .request('PATCH', `${podsPath(ns)}/${pod}/status`, {
      body: { status: launcherStatus(state) },
      contentType: MERGE,
    })
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
}

/**
 * Deletes the launcher Pods of the instance of this key (namespace/name) at once (grace 0: no
 * kubelet is there to confirm a graceful deletion).
 */
export async function removeLauncherPods(ctx: EngineContext, key: string): Promise<void> {
  const { namespace: ns = '', name } = splitKey(key);
  for (const p of await launcherPods(ctx, ns, name)) {
    await ctx.manager.rest
      .request('DELETE', `${podsPath(ns)}/${p.metadata.name}`, {
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          gracePeriodSeconds: 0,
          preconditions: { uid: p.metadata.uid },
        },
      })
      .catch((e) => {
        if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
      });
  }
}

/** The launcher Pod of a guest that ended: Succeeded (exit 0) or Failed, as the kubelet writes it. */
export async function launcherEnded(
  ctx: EngineContext,
  vmi: KvVmi,
  r: { pod?: string; startedAt: number },
  exitCode: number,
): Promise<void> {
  if (!r.pod) return;
  await setLauncherStatus(ctx, vmi.metadata?.namespace ?? '', r.pod, {
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    startedAt: new Date(r.startedAt),
    finishedAt: new Date(),
    exitCode,
  });
}
