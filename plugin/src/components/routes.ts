import { K8s, Router } from '@kinvolk/headlamp-plugin/lib';

/** The URL of one of our routes in the current cluster (named explicitly: outside a route's own
 * page, Headlamp cannot always tell the cluster from the URL). */
export function useRouteUrl(): (name: string, params?: Record<string, string>) => string {
  const cluster = K8s.useCluster();
  return (name, params = {}) =>
    Router.createRouteURL(name, { ...params, ...(cluster ? { cluster } : {}) });
}
