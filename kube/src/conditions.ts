// Status conditions as Kubernetes' meta.SetStatusCondition keeps them: lastTransitionTime moves
// only when the status changes.

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/**
 * The condition `next` as it should be written, given the conditions the object has: it keeps the
 * previous lastTransitionTime when the status of that type did not change, else takes `now`.
 */
export function withTransitionTime<C extends Condition>(
  previous: readonly { type: string; status: string; lastTransitionTime?: string }[] | undefined,
  next: Omit<C, 'lastTransitionTime'>,
  now: string,
): C {
  const prev = previous?.find((p) => p.type === next.type);
  const lastTransitionTime =
    prev && prev.status === next.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
  return { ...next, lastTransitionTime } as C;
}

/** Whether a condition list holds `type` with status True (for example a CRD's Established). */
export function isTrue(obj: unknown, type: string): boolean {
  const conditions = (
    obj as { status?: { conditions?: { type: string; status: string }[] } } | undefined
  )?.status?.conditions;
  return !!conditions?.some((c) => c.type === type && c.status === 'True');
}

/** Whether a CustomResourceDefinition is Established, that is, served by the API server. */
export function isEstablished(crd: unknown): boolean {
  return isTrue(crd, 'Established');
}
