import { Router } from '@kinvolk/headlamp-plugin/lib';

/** The URL of one of our routes in the current cluster. */
export function useRouteUrl(name: string, params: Record<string, string> = {}): string {
  return Router.createRouteURL(name, params);
}
