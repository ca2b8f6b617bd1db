// Renders plugin components inside the providers the Headlamp app gives them: its redux store
// (with one cluster, "test"), its query client, its MUI theme and a router at a cluster URL.
// Requests leave through the real lib to http://localhost:4466/clusters/test/..., where msw
// answers; `requests` records each one so tests assert what was sent.
//
// Import this first in a component test: it loads the Headlamp lib before any component (and a
// fake IndexedDB, where the lib looks for stored kubeconfigs before a request).
import 'fake-indexeddb/auto';
import '@kinvolk/headlamp-plugin/lib';
import { lightTheme } from '@kinvolk/headlamp-plugin/lib/components/App/defaultAppThemes';
import { queryClient } from '@kinvolk/headlamp-plugin/lib/lib/queryClient';
import { setStore } from '@kinvolk/headlamp-plugin/lib/lib/router/createRouteURL';
import { createMuiTheme } from '@kinvolk/headlamp-plugin/lib/lib/themes';
import { setConfig } from '@kinvolk/headlamp-plugin/lib/redux/configSlice';
import store from '@kinvolk/headlamp-plugin/lib/redux/stores/store';
import { ThemeProvider } from '@mui/material/styles';
import { QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import { http, type HttpHandler, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import type { ReactElement } from 'react';
import { Provider } from 'react-redux';
import { MemoryRouter, Route } from 'react-router-dom';
import { afterAll, afterEach, beforeAll } from 'vitest';
import english from '../locales/en/translation.json';
import { installMemo } from '../src/cluster-calls';
import { openedSockets } from './dom';

export const CLUSTER = 'test';
/** Where the lib sends requests for the test cluster. */
export const API = `http://localhost:4466/clusters/${CLUSTER}`;

export interface SentRequest {
  method: string;
  /** Path below /clusters/test, with the query. */
  path: string;
  contentType: string | null;
  body: unknown;
}
export const requests: SentRequest[] = [];

/** The plugin's translations, fetched by Headlamp's i18n as the app serves them. */
const translations = http.get(
  'http://localhost:4466//plugins/vmplane/locales/:lang/translation.json',
  ({ params }) => HttpResponse.json(params.lang === 'en' ? english : {})
);

/** The namespace filter lists namespaces; none unless a test says otherwise. */
const namespaces = http.get(`${API}/api/v1/namespaces`, () =>
  HttpResponse.json({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] })
);

export const server = setupServer(translations, namespaces);
server.events.on('request:start', async ({ request }) => {
  const url = new URL(request.url);
  const text = request.method === 'GET' ? '' : await request.clone().text();
  let body: unknown = text || undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  requests.push({
    method: request.method,
    path: url.pathname.replace(`/clusters/${CLUSTER}`, '') + url.search,
    contentType: request.headers.get('content-type'),
    body,
  });
});

/** A Kubernetes Status error as the API server sends it. */
export function statusError(code: number, message: string) {
  return HttpResponse.json(
    { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code },
    { status: code }
  );
}

/** Answers SelfSubjectAccessReviews: allowed unless `deny` says no to the resource/subresource. */
export function accessReviews(deny: (attrs: Record<string, string>) => boolean = () => false) {
  return http.post(
    `${API}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`,
    async ({ request }) => {
      const review = (await request.json()) as {
        spec: { resourceAttributes: Record<string, string> };
      };
      return HttpResponse.json({
        ...review,
        status: { allowed: !deny(review.spec.resourceAttributes) },
      });
    }
  );
}

/** vmplane's API group is served (the install check passes). */
export const vmplaneServed = http.get(`${API}/apis/vmplane.io/v1alpha1`, () =>
  HttpResponse.json({ kind: 'APIResourceList', groupVersion: 'vmplane.io/v1alpha1', resources: [] })
);

beforeAll(() => {
  server.listen({ onUnhandledRequest: 'error' });
  setStore(store);
  store.dispatch(
    setConfig({
      clusters: {
        [CLUSTER]: { name: CLUSTER, server: '', meta_data: { source: 'kubeconfig' } } as never,
      },
    })
  );
});
afterEach(() => {
  server.resetHandlers();
  requests.length = 0;
  openedSockets.length = 0;
  queryClient.clear();
  installMemo.clear();
});
afterAll(() => server.close());

const theme = createMuiTheme(lightTheme);

/**
 * Renders `ui` at a cluster URL (the lib reads the cluster from the location). The router's
 * current path is shown in the `location` test id, for asserting where a component navigated.
 */
export function renderInHeadlamp(
  ui: ReactElement,
  { path = `/c/${CLUSTER}/vmplane/vms`, handlers = [] as HttpHandler[] } = {}
) {
  server.use(...handlers);
  window.history.replaceState({}, '', path);
  return render(
    <Provider store={store}>
      <QueryClientProvider client={queryClient}>
        <ThemeProvider theme={theme}>
          <MemoryRouter initialEntries={[path]}>
            <Route path="*">{ui}</Route>
            <Route
              path="*"
              render={({ location }) => <output data-testid="location">{location.pathname}</output>}
            />
          </MemoryRouter>
        </ThemeProvider>
      </QueryClientProvider>
    </Provider>
  );
}
