// The importer "pod" of one claim: what CDI's import-controller records on the claim from its pod
// (phase, restarts, the Running condition's words) while the engine's importer or cloner fills the
// claim's file. A failure is retried with kubelet's crash back-off (10 s doubling to 5 min), as the
// pod's restarts would; a fatal one (a checksum mismatch) is not. Follows CDI v1.65
// pkg/controller/import-controller.go (initPvcPodName, updatePvcFromPod) and pkg/controller/util.go
// (setAnnotationsFromPodWithPrefix).
import { join } from 'node:path';
import { parseQuantity } from '../../../api/src/quantity.ts';
import { getLive } from '../../../kube/src/ownership.ts';
import { isNotFound } from '../../../kube/src/rest.ts';
import { volumeFile, type Volume } from '../storage/volume-file.ts';
import { ANN } from './annotations.ts';
import { usableSpace } from './claim.ts';
import { cloneFile, fillBlank, ImportError, importHttp } from './importer.ts';
import type { CdiContext, Claim, Work } from './context.ts';
import { CLONE_COMPLETE, IMPORT_COMPLETE, importPlan } from './source.ts';
import { progressText } from './status.ts';

/** kubelet's back-off before the n-th restart of a crashed container. */
export const restartBackoffMs = (restarts: number): number =>
  Math.min(10_000 * 2 ** Math.max(0, restarts - 1), 300_000);

const claimPath = (ns: string, name: string): string =>
  `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`;

async function annotate(
  cdi: CdiContext,
  pvc: Claim,
  ann: Record<string, string | null>,
): Promise<void> {
  const { namespace = '', name = '' } = pvc.metadata ?? {};
  await cdi.manager.rest
    .request('PATCH', claimPath(namespace, name), {
      body: { metadata: { annotations: ann } },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
}

/** The bytes a disk image may use on this volume: the usable space of a filesystem, a device's size. */
function targetBytes(cdi: CdiContext, pv: Volume, className: string | undefined): number {
  const cap = Number(parseQuantity(pv.spec?.capacity?.storage ?? '0').asInteger());
  return pv.spec?.volumeMode === 'Block' ? cap : usableSpace(cdi.overhead(className), cap);
}

/** The file of a bound claim, as the API server has it now. */
export async function claimFile(
  cdi: CdiContext,
  pvc: Claim,
): Promise<{ pv: Volume; file: string } | undefined> {
  const volumeName = pvc.spec?.volumeName;
  if (pvc.status?.phase !== 'Bound' || !volumeName) return undefined;
  const pv = await getLive<Volume>(cdi.manager.rest, `/api/v1/persistentvolumes/${volumeName}`);
  const file = pv ? volumeFile(pv) : undefined;
  return pv && file ? { pv, file } : undefined;
}

/** Fills the claim's file from its source; throws an ImportError, or a plain wait message. */
async function fill(
  cdi: CdiContext,
  pvc: Claim,
  pv: Volume,
  file: string,
  progress: (r: number, t: number) => void,
): Promise<Record<string, string>> {
  const ann = pvc.metadata?.annotations ?? {};
  const plan = importPlan(ann, cdi.library.endpoint, cdi.library.images);
  const size = targetBytes(cdi, pv, pvc.spec?.storageClassName);
  switch (plan.kind) {
    case 'fail':
      throw new ImportError(plan.message, plan.reason);
    case 'blank':
      await fillBlank(file, size);
      return {};
    case 'http':
      await importHttp(
        {
          fetch: plan.fetch,
          url: plan.url,
          ...(plan.checksum ? { checksum: plan.checksum } : {}),
          library: !!plan.image,
          scratch: join(cdi.stateDir, 'scratch', `${pvc.metadata?.uid}.img`),
          target: file,
          sizeBytes: size,
          ...(cdi.qemuImg ? { qemuImg: cdi.qemuImg } : {}),
        },
        progress,
      );
      return {};
    case 'clone': {
      const source = await getLive<Claim>(cdi.manager.rest, claimPath(plan.namespace, plan.name));
      const from = source ? await claimFile(cdi, source) : undefined;
      const phase = source?.metadata?.annotations?.[ANN.podPhase];
      if (!from || (phase !== undefined && phase !== 'Succeeded'))
        throw new ImportError(
          `The source PVC ${plan.namespace}/${plan.name} is not ready to clone (not bound, or not fully imported)`,
          'Error',
        );
      await cloneFile(from.file, file, size, progress);
      const kernel = source?.metadata?.annotations?.[ANN.kernelFrom];
      return kernel ? { [ANN.kernelFrom]: kernel } : {};
    }
  }
}

/** Runs the claim's import (or clone) once, recording it on the claim as CDI does from its pod. */
export async function runWorker(
  cdi: CdiContext,
  pvc: Claim,
  pv: Volume,
  file: string,
  dvKey: string,
): Promise<void> {
  const uid = pvc.metadata?.uid ?? '';
  const clone = !!pvc.metadata?.annotations?.[ANN.cloneRequest];
  const restarts = Number(pvc.metadata?.annotations?.[ANN.podRestarts] ?? 0) || 0;
  const work: Work = { running: true, restarts };
  cdi.work.set(uid, work);
  const podName = clone ? `${uid}-source-pod` : `importer-${pvc.metadata?.name}`;
  let last = 0;
  const progress = (read: number, total: number): void => {
    if (!total) return;
    work.progress = progressText(read, total);
    if (Date.now() - last >= 1000) {
      last = Date.now();
      cdi.manager.enqueue(cdi.controllerName, dvKey);
    }
  };
  try {
    await annotate(cdi, pvc, {
      [clone ? ANN.cloneSourcePod : ANN.importPod]: podName,
      [ANN.podPhase]: 'Running',
      [ANN.running]: 'true',
      [ANN.runningMessage]: '',
      [ANN.runningReason]: 'Pod is running',
    });
    cdi.manager.enqueue(cdi.controllerName, dvKey);
    const extra = await fill(cdi, pvc, pv, file, progress);
    await annotate(cdi, pvc, {
      ...extra,
      [ANN.podPhase]: 'Succeeded',
      [ANN.running]: 'false',
      [ANN.runningMessage]: clone ? CLONE_COMPLETE : IMPORT_COMPLETE,
      [ANN.runningReason]: 'Completed',
    });
    cdi.work.delete(uid);
  } catch (e) {
    const err = e instanceof ImportError ? e : new ImportError((e as Error).message);
    work.running = false;
    work.restarts = restarts + (err.fatal ? 0 : 1);
    work.retryAt = Date.now() + restartBackoffMs(work.restarts);
    await annotate(cdi, pvc, {
      [ANN.podPhase]: err.fatal ? 'Failed' : 'Running',
      ...(err.fatal ? { [ANN.importFatalError]: 'true' } : {}),
      [ANN.podRestarts]: String(work.restarts),
      [ANN.running]: 'false',
      [ANN.runningMessage]: err.message,
      [ANN.runningReason]: err.reason,
    });
    await cdi.manager.event(
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: pvc.metadata ?? {} },
      'Warning',
      'ErrImportFailed',
      err.detail ?? err.message,
    );
  } finally {
    cdi.manager.enqueue(cdi.controllerName, dvKey);
  }
}
