// Pure decisions of `kubectl vm`: what each power action changes, when it is done, how a VM is
// built from flags, and how API errors read.
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { ApiError } from '../../../kube/src/rest.ts';
import { Finalizers } from '../../../api/src/wellknown.ts';

export {
  allowedActions,
  powerPlan,
  type PowerAction,
  type PowerPlan,
} from '../../../api/src/power.ts';
export { parseWarnings } from '../../../api/src/warnings.ts';

/** `size=20Gi,storageClass=fast,accessMode=ReadWriteMany,volumeMode=Block,name=data` -> a disk entry. */
export function parseDiskFlag(
  flag: string,
  index: number,
): NonNullable<VirtualMachine['spec']['disks']>[number] {
  const fields: Record<string, string> = {};
  for (const part of flag.split(',').filter(Boolean)) {
    const i = part.indexOf('=');
    if (i < 1)
      throw new Error(
        `--disk: "${part}" is not KEY=VALUE; accepted keys: name, size, storageClass, accessMode, volumeMode, existing`,
      );
    fields[part.slice(0, i)] = part.slice(i + 1);
  }
  const known = ['name', 'size', 'storageClass', 'accessMode', 'volumeMode', 'existing'];
  const unknown = Object.keys(fields).filter((k) => !known.includes(k));
  if (unknown.length)
    throw new Error(
      `--disk: unknown key ${unknown.join(', ')}; accepted keys: ${known.join(', ')}`,
    );
  const name = fields.name ?? `disk${index}`;
  if (fields.existing) return { name, virtualMachineDiskName: fields.existing };
  if (!fields.size)
    throw new Error(
      `--disk "${flag}": size is required for a new disk (for example size=20Gi), or name an existing VirtualMachineDisk with existing=NAME`,
    );
  return {
    name,
    size: fields.size,
    ...(fields.storageClass ? { storageClassName: fields.storageClass } : {}),
    ...(fields.accessMode ? { accessModes: [fields.accessMode as 'ReadWriteOnce'] } : {}),
    ...(fields.volumeMode ? { volumeMode: fields.volumeMode as 'Block' } : {}),
  };
}

export interface CreateOptions {
  name: string;
  namespace: string;
  className?: string;
  image?: string;
  imageKind?: 'VirtualMachineImage' | 'ClusterVirtualMachineImage';
  disks?: string[];
  cloudInit?: string;
  powerState?: 'PoweredOn' | 'PoweredOff';
  labels?: Record<string, string>;
}

export function buildVm(o: CreateOptions): VirtualMachine {
  return {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachine',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      ...(o.labels && Object.keys(o.labels).length ? { labels: o.labels } : {}),
    },
    spec: {
      ...(o.className ? { className: o.className } : {}),
      ...(o.image
        ? { image: { name: o.image, ...(o.imageKind ? { kind: o.imageKind } : {}) } }
        : {}),
      ...(o.disks?.length ? { disks: o.disks.map((d, i) => parseDiskFlag(d, i)) } : {}),
      ...(o.cloudInit !== undefined ? { bootstrap: { cloudInit: { userData: o.cloudInit } } } : {}),
      ...(o.powerState ? { powerState: o.powerState } : {}),
    },
  };
}

/** An API error as a user should read it: what was denied, where, and why. */
export function explainError(
  e: unknown,
  ctx: { verb: string; resource: string; name?: string; namespace?: string; user?: string },
): string {
  if (!(e instanceof ApiError)) return (e as Error).message ?? String(e);
  const where = ctx.namespace ? ` in namespace "${ctx.namespace}"` : '';
  const msg =
    e.body && typeof e.body === 'object' && 'message' in e.body
      ? String((e.body as { message: unknown }).message)
      : e.message;
  switch (e.code) {
    case 403:
      if (msg.includes('admission webhook')) return msg; // a policy denial: the webhook's message unchanged
      return `forbidden: ${ctx.user ? `user "${ctx.user}"` : 'you'} may not ${ctx.verb} ${ctx.resource}${where}; ask an administrator for a Role granting "${ctx.verb}" on ${ctx.resource} (${msg})`;
    case 404:
      return ctx.name
        ? `${ctx.resource.replace(/s$/, '')} "${ctx.name}" not found${where}`
        : `not found: ${msg}`;
    default:
      return msg;
  }
}

/**
 * The finalizers an object keeps once vmplane's are taken off (before uninstalling vmplane, so
 * nothing waits for controllers that are gone); undefined when it carries none of vmplane's.
 */
export function withoutVmplaneFinalizers(finalizers: string[] | undefined): string[] | undefined {
  const ours: string[] = Object.values(Finalizers);
  const list = finalizers ?? [];
  return list.some((f) => ours.includes(f)) ? list.filter((f) => !ours.includes(f)) : undefined;
}
