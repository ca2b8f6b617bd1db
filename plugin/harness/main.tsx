// A page that runs the built plugin the way the Headlamp app does: Headlamp's plugin lib sets
// window.pluginLib, the plugin's dist/main.js registers its routes and sidebar entries into
// Headlamp's store, and this page renders them with Headlamp's providers, for the cluster named
// in the URL (/c/<cluster>/...), whose API the local server proxies.
import '@kinvolk/headlamp-plugin/lib/plugin/index';
import { addAPIProvider } from '@iconify/react';
import { ThemeProvider } from '@mui/material/styles';
import { QueryClientProvider } from '@tanstack/react-query';
import { SnackbarProvider } from 'notistack';
import React from 'react';
import { createRoot } from 'react-dom/client';
import { Provider, useSelector } from 'react-redux';
import { BrowserRouter, Link, Redirect, Route, Switch, useLocation } from 'react-router-dom';
import { lightTheme } from '@kinvolk/headlamp-plugin/lib/components/App/defaultAppThemes';
import { createMuiTheme } from '@kinvolk/headlamp-plugin/lib/lib/themes';
import { queryClient } from '@kinvolk/headlamp-plugin/lib/lib/queryClient';
import { setStore } from '@kinvolk/headlamp-plugin/lib/lib/router/createRouteURL';
import { getRoutePath } from '@kinvolk/headlamp-plugin/lib/lib/router/getRoutePath';
import { initializePluginI18n } from '@kinvolk/headlamp-plugin/lib/plugin/pluginI18n';
import { setConfig } from '@kinvolk/headlamp-plugin/lib/redux/configSlice';
import store from '@kinvolk/headlamp-plugin/lib/redux/stores/store';

const theme = createMuiTheme(lightTheme);
// Headlamp's components name Material Design icons; the local server answers for the Iconify API.
addAPIProvider('', { resources: [`${window.location.origin}/iconify`] });
const CLUSTER = (window.location.pathname.match(/^\/c\/([^/]+)/) ?? [])[1] ?? 'vmplane';

// As the app does at start-up: route URLs are made from the routes in this store.
setStore(store);
store.dispatch(
  setConfig({
    clusters: {
      [CLUSTER]: { name: CLUSTER, server: '', meta_data: { source: 'kubeconfig' } } as never,
    },
  })
);

interface SidebarEntry {
  name: string;
  label: string;
  url?: string;
  parent?: string | null;
}

function Nav() {
  const entries = useSelector(
    (s: { sidebar: { entries: Record<string, SidebarEntry> } }) => s.sidebar.entries
  );
  const location = useLocation();
  const group = Object.values(entries).find(e => e.name === 'vmplane');
  const items = Object.values(entries).filter(e => e.parent === 'vmplane');
  return (
    <nav
      aria-label="vmplane"
      style={{ width: 200, padding: 12, borderRight: '1px solid #ddd', minHeight: '100vh' }}
    >
      <strong>{group?.label ?? 'Virtual Machines'}</strong>
      <ul style={{ listStyle: 'none', padding: 0 }}>
        {items.map(e => {
          const to = `/c/${CLUSTER}${e.url ?? ''}`;
          return (
            <li key={e.name} style={{ margin: '6px 0' }}>
              <Link
                to={to}
                style={{ fontWeight: location.pathname.startsWith(to) ? 'bold' : 'normal' }}
              >
                {e.label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

function Routes() {
  const routes = useSelector(
    (s: {
      routes: {
        routes: Record<string, { path: string; exact?: boolean; component: () => React.ReactNode }>;
      };
    }) => s.routes.routes
  );
  // Longer (more specific) paths first, so /vmplane/vms/create wins over /vmplane/vms/:namespace/:name.
  const list = Object.values(routes).sort(
    (a, b) =>
      (b.path.includes(':') ? 0 : 1) - (a.path.includes(':') ? 0 : 1) ||
      b.path.length - a.path.length
  );
  return (
    <Switch>
      {list.map(r => (
        <Route key={r.path} path={getRoutePath(r as never)} exact={r.exact ?? true}>
          <r.component />
        </Route>
      ))}
      <Redirect exact from="/" to={`/c/${CLUSTER}/vmplane/vms`} />
      <Route>
        <p>Nothing here. Open the VMs page from the menu.</p>
      </Route>
    </Switch>
  );
}

function App() {
  return (
    <Provider store={store}>
      <QueryClientProvider client={queryClient}>
        <ThemeProvider theme={theme}>
          <SnackbarProvider>
            <BrowserRouter>
              <div style={{ display: 'flex' }}>
                <Nav />
                <main style={{ flex: 1, padding: 16, minWidth: 0 }}>
                  <Routes />
                </main>
              </div>
            </BrowserRouter>
          </SnackbarProvider>
        </ThemeProvider>
      </QueryClientProvider>
    </Provider>
  );
}

// The plugin is a UMD file that expects window.pluginLib; load its translations and then the
// plugin as Headlamp does, then render.
initializePluginI18n(
  'vmplane',
  { name: 'vmplane', headlamp: { i18n: ['en'] } },
  'plugins/vmplane'
).finally(() => {
  const script = document.createElement('script');
  script.src = '/plugins/vmplane/main.js';
  script.onload = () => createRoot(document.getElementById('root')!).render(<App />);
  script.onerror = () => {
    document.getElementById('root')!.textContent =
      'The plugin (plugins/vmplane/main.js) did not load: run npm run build in plugin/.';
  };
  document.head.appendChild(script);
});
