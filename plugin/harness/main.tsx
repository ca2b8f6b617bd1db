// The sandbox's UI: the Headlamp app shell around the built plugin, made of Headlamp's own parts
// from its plugin library. Headlamp's plugin lib sets window.pluginLib, the plugin's dist/main.js
// registers its routes and sidebar entries into Headlamp's store, and this page lays them out as
// Headlamp's Layout does: an app bar (logo, cluster, theme), Headlamp's Sidebar
// with the plugin's entries where Headlamp puts them, and Headlamp's RouteSwitcher, which serves the
// plugin's pages and Headlamp's own (namespaces, pods, CRDs...) for the cluster named in the URL
// (/c/<cluster>/...), whose API the local server proxies.
import '@kinvolk/headlamp-plugin/lib/plugin/index';
import { addAPIProvider } from '@iconify/react';
import {
  AppBar,
  Box,
  Chip,
  Container,
  CssBaseline,
  IconButton,
  Toolbar,
  Tooltip,
} from '@mui/material';
import { ThemeProvider } from '@mui/material/styles';
import { QueryClientProvider } from '@tanstack/react-query';
import { SnackbarProvider } from 'notistack';
import React from 'react';
import { createRoot } from 'react-dom/client';
import { Provider, useDispatch, useSelector } from 'react-redux';
import { BrowserRouter } from 'react-router-dom';
import { AppLogo } from '@kinvolk/headlamp-plugin/lib/components/App/AppLogo';
import RouteSwitcher from '@kinvolk/headlamp-plugin/lib/components/App/RouteSwitcher';
import {
  setTheme,
  useAppThemes,
  useCurrentAppTheme,
} from '@kinvolk/headlamp-plugin/lib/components/App/themeSlice';
import Sidebar, { NavigationTabs } from '@kinvolk/headlamp-plugin/lib/components/Sidebar';
import { setWhetherSidebarOpen } from '@kinvolk/headlamp-plugin/lib/components/Sidebar/sidebarSlice';
import { createMuiTheme } from '@kinvolk/headlamp-plugin/lib/lib/themes';
import { queryClient } from '@kinvolk/headlamp-plugin/lib/lib/queryClient';
import { setStore } from '@kinvolk/headlamp-plugin/lib/lib/router/createRouteURL';
import { initializePluginI18n } from '@kinvolk/headlamp-plugin/lib/plugin/pluginI18n';
import { pluginsLoaded } from '@kinvolk/headlamp-plugin/lib/plugin/pluginsSlice';
import { setConfig } from '@kinvolk/headlamp-plugin/lib/redux/configSlice';
import store from '@kinvolk/headlamp-plugin/lib/redux/stores/store';
import { Icon } from '@iconify/react';

// Headlamp's components name Material Design icons; the local server answers for the Iconify API.
addAPIProvider('', { resources: [`${window.location.origin}/iconify`] });
const CLUSTER = (window.location.pathname.match(/^\/c\/([^/]+)/) ?? [])[1] ?? 'vmplane';

// As the app does at start-up: route URLs are made from the routes in this store, and the one
// cluster is the one the local server proxies.
setStore(store);
store.dispatch(
  setConfig({
    clusters: {
      [CLUSTER]: { name: CLUSTER, server: '', meta_data: { source: 'kubeconfig' } } as never,
    },
  })
);

interface ShellState {
  sidebar: { isSidebarOpen?: boolean };
  theme: { name: string };
}

/** Light and dark, switched the way Headlamp's settings do (remembered in localStorage). */
function ThemeToggle() {
  const dispatch = useDispatch();
  const themes = useAppThemes();
  const current = useCurrentAppTheme();
  const next = themes.find(t => (current.base === 'dark' ? t.base !== 'dark' : t.base === 'dark'));
  if (!next) return null;
  const label = next.base === 'dark' ? 'Dark theme' : 'Light theme';
  return (
    <Tooltip title={label}>
      <IconButton aria-label={label} color="inherit" onClick={() => dispatch(setTheme(next.name))}>
        <Icon icon={next.base === 'dark' ? 'mdi:weather-night' : 'mdi:weather-sunny'} />
      </IconButton>
    </Tooltip>
  );
}

/** Headlamp's app bar: menu, logo, the cluster and the theme (lists carry Headlamp's namespace chooser). */
function TopBar() {
  const dispatch = useDispatch();
  const open = useSelector((s: ShellState) => s.sidebar.isSidebarOpen ?? true);
  return (
    <AppBar
      position="static"
      elevation={1}
      component="nav"
      aria-label="Appbar Tools"
      sx={theme => ({
        background: theme.palette.navbar?.background,
        color: theme.palette.navbar?.color,
      })}
    >
      <Toolbar sx={{ gap: 1.5, minHeight: 56 }} variant="dense">
        <IconButton
          aria-label={open ? 'Shrink sidebar' : 'Expand sidebar'}
          color="inherit"
          edge="start"
          onClick={() => dispatch(setWhetherSidebarOpen(!open))}
        >
          <Icon icon="mdi:menu" />
        </IconButton>
        <AppLogo logoType="large" />
        <Chip
          label={CLUSTER}
          size="small"
          variant="outlined"
          aria-label={`Cluster ${CLUSTER}`}
          sx={{ color: 'inherit', borderColor: 'currentColor' }}
        />
        <Box sx={{ flexGrow: 1 }} />
        <ThemeToggle />
      </Toolbar>
    </AppBar>
  );
}

/** Headlamp's Layout: the app bar above, the sidebar beside the routed page. */
function Shell() {
  const appTheme = useCurrentAppTheme();
  const muiTheme = React.useMemo(() => createMuiTheme(appTheme), [appTheme]);
  return (
    <ThemeProvider theme={muiTheme}>
      <CssBaseline enableColorScheme />
      <SnackbarProvider>
        <Box sx={{ display: 'flex', flexDirection: 'column', height: '100dvh' }}>
          <TopBar />
          <Box
            sx={{
              display: 'grid',
              overflow: 'hidden',
              flexGrow: 1,
              position: 'relative',
              gridTemplateColumns: 'min-content 1fr',
            }}
          >
            <Sidebar />
            <Box
              component="main"
              id="main"
              sx={{ overflow: 'auto', position: 'relative', minHeight: 0, gridColumn: '2 / 3' }}
            >
              <Container maxWidth="xl" sx={{ height: '100%' }}>
                <NavigationTabs />
                <RouteSwitcher requiresToken={() => false} />
              </Container>
            </Box>
          </Box>
        </Box>
      </SnackbarProvider>
    </ThemeProvider>
  );
}

function App() {
  return (
    <Provider store={store}>
      <QueryClientProvider client={queryClient}>
        <BrowserRouter>
          <Shell />
        </BrowserRouter>
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
  script.onload = () => {
    // The plugin is loaded: Headlamp's RouteSwitcher waits for this before routing.
    store.dispatch(pluginsLoaded());
    createRoot(document.getElementById('root')!).render(<App />);
  };
  script.onerror = () => {
    document.getElementById('root')!.textContent =
      'The plugin (plugins/vmplane/main.js) did not load: run npm run build in plugin/.';
  };
  document.head.appendChild(script);
});
