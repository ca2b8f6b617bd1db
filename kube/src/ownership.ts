// Ownership: vmplane patches or deletes an object only when it carries an owner reference to the
// vmplane object that made it (by UID, so a namesake never counts). The decisions are pure; the
// writes below check ownership first and send the UID checked as a precondition, so the API
// server refuses them if the object was replaced in between.
import type { KubernetesObject } from '@kubernetes/client-node';
import { ApiError, isNotFound, type KubeRest } from './rest.ts';

interface OwnerReference {
  uid?: string;
  kind?: string;
  name?: string;
  controller?: boolean;
}

function ownerReferences(o: KubernetesObject | undefined): OwnerReference[] {
  return ((o?.metadata as { ownerReferences?: OwnerReference[] } | undefined)?.ownerReferences ??
    []) as OwnerReference[];
}

/** Whether `o` has an owner reference to one of `uids` (empty UIDs never match). */
export function isOwnedBy(o: KubernetesObject | undefined, uids: (string | undefined)[]): boolean {
  const wanted = new Set(uids.filter((u): u is string => !!u));
  return ownerReferences(o).some((r) => !!r.uid && wanted.has(r.uid));
}

/** Whether the controlling owner reference of `o` is `uid`. */
export function isControlledBy(o: KubernetesObject | undefined, uid: string | undefined): boolean {
  return !!uid && ownerReferences(o).some((r) => r.controller === true && r.uid === uid);
}

/** How an object that stands in the way is named in conditions and Events. */
export function describeForeign(kind: string, o: KubernetesObject): string {
  const m = o.metadata ?? {};
  const owner = ownerReferences(o).find((r) => r.controller) ?? ownerReferences(o)[0];
  const ownedBy = owner
    ? `owned by ${owner.kind ?? 'an object'} ${owner.name ?? ''} (uid ${owner.uid ?? '?'})`
    : 'not owned by vmplane';
  return `${kind} ${m.namespace ? `${m.namespace}/` : ''}${m.name} (uid ${m.uid ?? '?'}) ${ownedBy}`;
}

/**
 * Deletes the object at `path` if it is still the one checked (same UID). Gone already, or
 * replaced by another object since: nothing is deleted, and false is returned.
 */
export async function deleteExactly(
  rest: KubeRest,
  path: string,
  uid: string | undefined,
): Promise<boolean> {
  if (!uid) return false;
  try {
    await rest.request('DELETE', path, {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } },
    });
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    // 409: the name now holds another object; it is not ours to delete.
    if (e instanceof ApiError && e.code === 409) return false;
    throw e;
  }
}

/** Reads an object live (not from a cache); undefined when there is none. */
export async function getLive<T>(rest: KubeRest, path: string): Promise<T | undefined> {
  try {
    return (await rest.request<T>('GET', path)).body;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * The object of this name if it is `own`: from the cache when the cache says so, else read live.
 * "Not ours" is never concluded from the cache alone: it may still hold an earlier namesake
 * (deleted a moment ago) while ours, just made, has not reached it yet.
 */
export async function findOwn<T extends KubernetesObject>(
  cache: { get(name: string, namespace?: string): T | undefined },
  rest: KubeRest,
  collection: string,
  name: string,
  namespace: string,
  own: (o: T) => boolean,
): Promise<T | undefined> {
  const cached = cache.get(name, namespace);
  if (cached && own(cached)) return cached;
  const live = await getLive<T>(rest, `${collection}/${encodeURIComponent(name)}`);
  return live && own(live) ? live : undefined;
}

/**
 * Creates `obj` at `collection`; never replaces what is there. An object of that name already
 * there (the cache had not seen it yet) comes back as `{ exists }`, read live, for the caller
 * to check whose it is.
 */
export async function createOnly<T extends KubernetesObject>(
  rest: KubeRest,
  collection: string,
  obj: T,
  fieldManager: string,
): Promise<{ created: T } | { exists: T | undefined }> {
  try {
    const { body } = await rest.request<T>(
      'POST',
      `${collection}?fieldManager=${encodeURIComponent(fieldManager)}`,
      { body: obj },
    );
    return { created: body };
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
    return { exists: await getLive<T>(rest, `${collection}/${obj.metadata?.name}`) };
  }
}

/**
 * Whether the object at `path` is still the one with `uid` and is not being deleted, read live.
 * Checked before creating what it will own: a cache a moment behind may still show an object
 * that was deleted and made again under the same name, and what is created for the old one
 * would be an orphan in the new one's way.
 */
export async function isCurrent(
  rest: KubeRest,
  path: string,
  uid: string | undefined,
): Promise<boolean> {
  const live = await getLive<KubernetesObject>(rest, path);
  return (
    !!uid &&
    live?.metadata?.uid === uid &&
    !(live.metadata as { deletionTimestamp?: string }).deletionTimestamp
  );
}

/** The cache showed an object that is gone or replaced: the reconcile starts over, later. */
export class StaleCache extends Error {
  constructor(what: string) {
    super(`${what} changed since the cache saw it; reconciling again`);
  }
}
