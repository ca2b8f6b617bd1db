// Finalizers, added and removed with a resourceVersion precondition: a concurrent change makes
// the write fail with 409, and the work queue retries from fresh state.
import { isDeepStrictEqual } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { type KubeRest, isNotFound } from './rest.ts';

/** Sets the finalizers (if the object is unchanged since `obj`); the updated object, or undefined when it is gone. */
async function setFinalizers<T extends KubernetesObject>(
  rest: KubeRest,
  path: string,
  obj: T,
  finalizers: string[],
): Promise<T | undefined> {
  try {
    const { body } = await rest.request<T>('PATCH', path, {
      body: { metadata: { finalizers, resourceVersion: obj.metadata?.resourceVersion } },
      contentType: 'application/merge-patch+json',
    });
    return body;
  } catch (e) {
    if (isNotFound(e)) return undefined; // gone already
    throw e;
  }
}

/**
 * Adds a finalizer. Returns the object as the API server now has it (the caller can go on
 * reconciling it without waiting for the watch to bring it back), or undefined when it is gone.
 */
export async function addFinalizer<T extends KubernetesObject>(
  rest: KubeRest,
  path: string,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  const current = obj.metadata?.finalizers ?? [];
  if (current.includes(finalizer)) return obj;
  return setFinalizers(rest, path, obj, [...current, finalizer]);
}

export async function removeFinalizer(
  rest: KubeRest,
  path: string,
  obj: KubernetesObject,
  finalizer: string,
): Promise<void> {
  const current = obj.metadata?.finalizers ?? [];
  if (!current.includes(finalizer)) return;
  await setFinalizers(
    rest,
    path,
    obj,
    current.filter((f) => f !== finalizer),
  );
}

/** Whether every field of `want` is present with the same value in `have` (arrays element by element). */
export function isSubset(want: unknown, have: unknown): boolean {
  if (Array.isArray(want))
    return (
      Array.isArray(have) &&
      want.length === have.length &&
      want.every((w, i) => isSubset(w, have[i]))
    );
  if (want !== null && typeof want === 'object') {
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want).every(
      ([k, v]) => v === undefined || isSubset(v, (have as Record<string, unknown>)[k]),
    );
  }
  return want === have;
}

/** A merge patch that turns status `before` into `after`: keys that disappeared are sent as null. */
export function statusPatch(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
): { status: Record<string, unknown> } {
  const status: Record<string, unknown> = { ...after };
  for (const k of Object.keys(before ?? {})) if (!(k in after)) status[k] = null;
  return { status };
}

/** Writes status through the status subresource when it changed; a deleted object is fine. */
export async function writeStatus(
  rest: KubeRest,
  path: string,
  before: unknown,
  after: object,
): Promise<boolean> {
  const prev = JSON.parse(JSON.stringify(before ?? {})) as Record<string, unknown>;
  const next = JSON.parse(JSON.stringify(after)) as Record<string, unknown>;
  if (isDeepStrictEqual(prev, next)) return false;
  try {
    await rest.request('PATCH', `${path}/status`, {
      body: statusPatch(prev, next),
      contentType: 'application/merge-patch+json',
    });
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
  return true;
}
