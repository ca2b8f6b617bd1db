import { K8s, Router } from '@kinvolk/headlamp-plugin/lib';

/** The URL of one of our routes, in the cluster the user is looking at. */
export function useRouteUrl(): (name: string, params?: Record<string, string>) => string {
  const cluster = K8s.useCluster();
  return (name, params = {}) =>
    Router.createRouteURL(name, { ...params, ...(cluster ? { cluster } : {}) });
}
