// The I/O of disk claims (decisions/attach.ts decides): read the VM under admission, the disk and
// the VM its claim names live from the API server (with the webhook's own credentials, never
// trusting the review), and write the claim with the disk's resourceVersion as a precondition. A
// conflict means someone else wrote first: read again and decide again. A claim in flight (its VM
// not written yet) is waited for, briefly, instead of refused at once.
import type { VirtualMachine, VirtualMachineDisk } from '../../api/generated/types.ts';
import { Annotations, GROUP } from '../../api/src/wellknown.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { ApiError, type KubeRest } from '../../kube/src/rest.ts';
import type { AdmissionRequest } from './admission.ts';
import {
  attachedElsewhere,
  decideClaim,
  formatClaim,
  newlyAttached,
  parseClaim,
  requesterStanding,
  WAIT_BUDGET_MS,
  type Holder,
} from '../../decisions/src/attach.ts';
import type { Denial } from '../../decisions/src/vm.ts';

const ATTEMPTS = 5;

interface Meta {
  metadata?: { resourceVersion?: string; annotations?: Record<string, string> };
}

/** How often a waiting admission looks at an in-flight claim again. */
const POLL_MS = 200;

export class DiskClaims {
  constructor(
    private readonly rest: KubeRest,
    private readonly clock: () => Date = () => new Date(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((r) => setTimeout(r, ms)),
  ) {}

  /**
   * Claims every VirtualMachineDisk the VM attaches anew. The first disk another VM holds is the
   * denial; what this request claimed before it is let go again. A dry run only checks.
   */
  async claim(req: AdmissionRequest): Promise<Denial | undefined> {
    if (req.kind.group !== GROUP || req.kind.kind !== 'VirtualMachine') return undefined;
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return undefined;
    const vm = req.object as VirtualMachine | undefined;
    const uid = vm?.metadata?.uid;
    const namespace = req.namespace ?? vm?.metadata?.namespace;
    if (!vm || !uid || !namespace) return undefined;
    const me = { name: vm.metadata.name ?? req.name ?? '', uid };
    const old = req.oldObject as unknown as VirtualMachine | undefined;
    const wanted = newlyAttached(vm.spec, old?.spec);
    if (!wanted.length) return undefined;
    // Whoever sent the review, claims are written only for a VM the API server has (UPDATE) or
    // is about to write (CREATE, name free): never on the review's word alone.
    const live = await getLive<{ metadata: { uid?: string } }>(
      this.rest,
      this.vmPath(namespace, me.name),
    );
    const standing = requesterStanding(req.operation, uid, live?.metadata);
    if (standing === 'skip') return undefined;
    if (standing === 'unknown')
      return {
        field: 'metadata.uid',
        code: 404,
        message: `no VirtualMachine "${me.name}" with this UID exists; no disk is claimed for it`,
      };
    const taken: string[] = [];
    const deadline = this.clock().getTime() + WAIT_BUDGET_MS;
    for (const { disk, index } of wanted) {
      const held = await this.claimOne(namespace, disk, me, req.dryRun === true, deadline);
      if (held) {
        await Promise.all(taken.map((d) => this.release(namespace, d, uid)));
        return attachedElsewhere(disk, index, held.heldBy, held.inFlight);
      }
      taken.push(disk);
    }
    return undefined;
  }

  /**
   * The disks a VM names, or a new disk clones (spec.source.disk), that `known` does not have,
   * read live (those that exist): one `kubectl apply` with both is then admitted.
   */
  async missingDisks(
    req: AdmissionRequest,
    known: (namespace: string, name: string) => unknown,
  ): Promise<VirtualMachineDisk[]> {
    const vmReview = req.kind.kind === 'VirtualMachine';
    const newDisk = req.kind.kind === 'VirtualMachineDisk' && req.operation === 'CREATE';
    if (req.kind.group !== GROUP || !(vmReview || newDisk)) return [];
    const obj = req.object as unknown as (VirtualMachine | VirtualMachineDisk) | undefined;
    const namespace = req.namespace ?? obj?.metadata?.namespace;
    if (!obj || !namespace) return [];
    const named = vmReview
      ? ((obj as VirtualMachine).spec?.disks ?? []).flatMap((d) =>
          d.virtualMachineDiskName ? [d.virtualMachineDiskName] : [],
        )
      : [(obj as VirtualMachineDisk).spec?.source?.disk?.name ?? ''].filter(Boolean);
    const names = named.filter((n) => !known(namespace, n));
    const found = await Promise.all(
      names.map((n) => getLive<VirtualMachineDisk>(this.rest, this.diskPath(namespace, n))),
    );
    return found.filter((d): d is VirtualMachineDisk => !!d);
  }

  private diskPath(namespace: string, disk: string): string {
    return `/apis/${GROUP}/v1alpha1/namespaces/${namespace}/virtualmachinedisks/${encodeURIComponent(disk)}`;
  }

  private vmPath(namespace: string, vm: string): string {
    return `/apis/${GROUP}/v1alpha1/namespaces/${namespace}/virtualmachines/${encodeURIComponent(vm)}`;
  }

  /** The VM a claim names, read live. */
  private async holder(namespace: string, vm: string, disk: string): Promise<Holder> {
    const found = await getLive<VirtualMachine & { metadata: { uid?: string } }>(
      this.rest,
      this.vmPath(namespace, vm),
    );
    if (!found?.metadata.uid) return undefined;
    return {
      uid: found.metadata.uid,
      usesDisk: !!found.spec?.disks?.some((d) => d.virtualMachineDiskName === disk),
    };
  }

  /**
   * Undefined when the VM has the disk (or there is no such disk: the base checks say so). A claim
   * in flight is looked at again every POLL_MS until it comes true or lapses, up to `deadline`.
   */
  private async claimOne(
    namespace: string,
    disk: string,
    me: { name: string; uid: string },
    dryRun: boolean,
    deadline: number,
  ): Promise<{ heldBy: string; inFlight: boolean } | undefined> {
    const path = this.diskPath(namespace, disk);
    for (let conflicts = 0; conflicts < ATTEMPTS;) {
      const current = await getLive<Meta & { metadata: object }>(this.rest, path);
      if (!current) return undefined;
      const claim = parseClaim(current.metadata?.annotations?.[Annotations.attachedTo]);
      const holder =
        claim && claim.uid !== me.uid ? await this.holder(namespace, claim.vm, disk) : undefined;
      const now = this.clock();
      const d = decideClaim(claim, me, holder, now);
      if ('heldBy' in d) return { heldBy: d.heldBy, inFlight: false };
      if ('inFlight' in d) {
        const left = deadline - now.getTime();
        if (left <= 0) return { heldBy: d.inFlight, inFlight: true };
        await this.sleep(Math.min(POLL_MS, left, Math.max(1, d.until - now.getTime())));
        continue;
      }
      if (!d.take || dryRun) return undefined;
      const value = formatClaim({ vm: me.name, uid: me.uid, at: now.toISOString() });
      if (await this.write(path, current.metadata?.resourceVersion, value)) return undefined;
      conflicts++;
    }
    throw new Error(
      `could not claim VirtualMachineDisk ${namespace}/${disk}: it changed ${ATTEMPTS} times while being claimed; try again`,
    );
  }

  /** Writes (or, with null, removes) the claim if the disk is unchanged; false on a conflict. */
  private async write(
    path: string,
    resourceVersion: string | undefined,
    value: string | null,
  ): Promise<boolean> {
    try {
      await this.rest.request('PATCH', path, {
        body: { metadata: { resourceVersion, annotations: { [Annotations.attachedTo]: value } } },
        contentType: 'application/merge-patch+json',
      });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.code === 409) return false;
      throw e;
    }
  }

  /** Lets go of a claim this request made (best effort: a leftover claim lapses by itself). */
  private async release(namespace: string, disk: string, uid: string): Promise<void> {
    try {
      const path = this.diskPath(namespace, disk);
      const current = await getLive<Meta & { metadata: object }>(this.rest, path);
      const claim = parseClaim(current?.metadata?.annotations?.[Annotations.attachedTo]);
      if (claim?.uid === uid) await this.write(path, current?.metadata?.resourceVersion, null);
    } catch {
      // Nothing to undo that a stale claim would not undo by itself.
    }
  }
}
