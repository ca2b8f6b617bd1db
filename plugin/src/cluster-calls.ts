// The plugin's I/O edge: raw API calls through Headlamp's cluster proxy, with warnings kept and
// errors turned into readable messages, and RBAC questions asked of the API server.
import { ApiProxy, K8s } from '@kinvolk/headlamp-plugin/lib';
import { useEffect, useState } from 'react';
import { parseWarnings } from '../../api/src/warnings.ts';
import { InstallMemo } from './logic/installed';

export interface CallResult<T = unknown> {
  status: number;
  body: T | undefined;
  warnings: string[];
}

/** An error from the API server, with its HTTP status and the server's own message. */
export class CallError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/**
 * A request to the current cluster. Resolves with the body (if any: KubeVirt's subresources
 * answer 202 with no body) and the warnings; rejects with a CallError carrying the server's message.
 */
export async function call<T = unknown>(
  path: string,
  init: { method: string; body?: unknown; contentType?: string; query?: Record<string, string> } = {
    method: 'GET',
  }
): Promise<CallResult<T>> {
  const qs = init.query ? `?${new URLSearchParams(init.query).toString()}` : '';
  let response: Response;
  try {
    response = (await ApiProxy.request(`${path}${qs}`, {
      method: init.method,
      isJSON: false,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      headers: {
        'Content-Type': init.contentType ?? 'application/json',
        Accept: 'application/json',
      },
    })) as Response;
  } catch (e) {
    const err = e as Error & { status?: number };
    throw new CallError(serverMessage(err.message), err.status ?? 0);
  }
  const text = await response.text();
  let body: T | undefined;
  if (text) {
    try {
      body = JSON.parse(text) as T;
    } catch {
      body = undefined;
    }
  }
  return {
    status: response.status,
    body,
    warnings: parseWarnings(response.headers.get('Warning')),
  };
}

/** Headlamp reports errors as "<statusText> - <message>"; keep the server's part. */
export function serverMessage(message: string): string {
  const i = message.indexOf(' - ');
  return i >= 0 ? message.slice(i + 3) : message;
}

export interface AccessQuestion {
  group: string;
  resource: string;
  verb: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** SelfSubjectAccessReview: may the current user do this? */
export async function canI(q: AccessQuestion): Promise<boolean> {
  const { body } = await call<{ status?: { allowed?: boolean } }>(
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      method: 'POST',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: q },
      },
    }
  );
  return body?.status?.allowed === true;
}

/** The answers to several access questions; undefined while asking. Errors count as "no". */
export function useCanI(
  questions: Record<string, AccessQuestion>
): Record<string, boolean> | undefined {
  const key = JSON.stringify(questions);
  const [answers, setAnswers] = useState<Record<string, boolean>>();
  useEffect(() => {
    let live = true;
    const entries = Object.entries(JSON.parse(key) as Record<string, AccessQuestion>);
    Promise.all(
      entries.map(([k, q]) =>
        canI(q).then(
          ok => [k, ok] as const,
          () => [k, false] as const
        )
      )
    ).then(pairs => {
      if (live) setAnswers(Object.fromEntries(pairs));
    });
    return () => {
      live = false;
    };
  }, [key]);
  return answers;
}

/** The clusters seen serving vmplane's API in this session. */
export const installMemo = new InstallMemo();

/**
 * Whether vmplane's API group is served (its CRDs are installed); undefined while asking. A
 * cluster already seen serving it answers true at once (a list page then asks for its list
 * without waiting); the check runs on every mount all the same, and a "not served" wins.
 */
export function useVmplaneInstalled(): boolean | undefined {
  const cluster = K8s.useCluster() ?? '';
  const [installed, setInstalled] = useState<boolean | undefined>(() => installMemo.known(cluster));
  useEffect(() => {
    let live = true;
    call('/apis/vmplane.io/v1alpha1').then(
      () => {
        installMemo.remember(cluster, true);
        if (live) setInstalled(true);
      },
      () => {
        installMemo.remember(cluster, false);
        if (live) setInstalled(false);
      }
    );
    return () => {
      live = false;
    };
  }, [cluster]);
  return installed;
}
