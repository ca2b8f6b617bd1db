// Which request each power action sends: the same choices as `kubectl vm` (api/src/power.ts).
import { allowedActions, type PowerAction, powerPlan } from '../../../api/src/power.ts';

export { allowedActions, type PowerAction };

export interface ActionRequest {
  method: 'PATCH' | 'PUT';
  path: string;
  body: object;
  contentType: string;
  /** The RBAC question whose answer decides whether the button is shown. */
  access: {
    group: string;
    resource: string;
    subresource?: string;
    verb: string;
    namespace: string;
    name: string;
  };
}

export function actionRequest(action: PowerAction, namespace: string, name: string): ActionRequest {
  const plan = powerPlan(action);
  const ns = encodeURIComponent(namespace);
  const n = encodeURIComponent(name);
  if (plan.subresource) {
    return {
      method: 'PUT',
      path: `/apis/subresources.kubevirt.io/v1/namespaces/${ns}/${plan.subresource.kind}/${n}/${plan.subresource.verb}`,
      body: plan.subresource.body,
      contentType: 'application/json',
      access: {
        group: 'subresources.kubevirt.io',
        resource: plan.subresource.kind,
        subresource: plan.subresource.verb,
        verb: 'update',
        namespace,
        name,
      },
    };
  }
  return {
    method: 'PATCH',
    path: `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines/${n}`,
    body: plan.patch ?? {},
    contentType: 'application/merge-patch+json',
    access: { group: 'vmplane.io', resource: 'virtualmachines', verb: 'patch', namespace, name },
  };
}

/** Actions that lose work in the guest, so the UI asks first. */
export const DESTRUCTIVE: readonly PowerAction[] = ['stop', 'restart'];

export interface ActionButtonState {
  action: PowerAction;
  /** Hidden when RBAC says no. */
  visible: boolean;
  /** Disabled when the VM's state does not allow it (the matrix) or a request is under way. */
  enabled: boolean;
}

/** The header buttons for a VM: Start, Stop, Restart and Pause or Resume. */
export function actionButtons(
  printable: string | undefined,
  allowedByRbac: Partial<Record<PowerAction, boolean>> | undefined,
  busy: boolean
): ActionButtonState[] {
  const allowed = allowedActions(printable);
  const pauseOrResume: PowerAction = printable === 'Paused' ? 'resume' : 'pause';
  return (['start', 'stop', 'restart', pauseOrResume] as PowerAction[]).map(action => ({
    action,
    visible: allowedByRbac?.[action] === true,
    enabled: !busy && allowed.includes(action),
  }));
}
