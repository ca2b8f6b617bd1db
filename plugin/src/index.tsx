// vmplane's Headlamp plugin: a "Virtual Machines" group with VMs, disks, images, classes,
// storage profiles, policies and networks; VM actions, a create wizard and a serial console.
import {
  registerKindIcon,
  registerRoute,
  registerSidebarEntry,
} from '@kinvolk/headlamp-plugin/lib';
import { ClassDetails } from './components/class/Details';
import { ClassList } from './components/class/List';
import { CreateWizard } from './components/CreateWizard';
import { DiskDetails } from './components/disk/Details';
import { DiskList } from './components/disk/List';
import { ClusterImageDetails, ImageDetails } from './components/image/Details';
import { ImageList } from './components/image/List';
import { NetworkList } from './components/network/List';
import { PolicyDetails } from './components/policy/Details';
import { PolicyList } from './components/policy/List';
import { StorageProfileDetails } from './components/storageprofile/Details';
import { StorageProfileList } from './components/storageprofile/List';
import { VmDetails } from './components/VmDetails';
import { VmList } from './components/VmList';
import { ICONS, registerIcons } from './icons';
import { ROUTES } from './resources';

registerIcons();

const GROUP = 'vmplane';

registerSidebarEntry({
  parent: null,
  name: GROUP,
  label: 'Virtual Machines',
  url: '/vmplane/vms',
  icon: ICONS.vm,
});

const pages: {
  sidebar: string;
  label: string;
  path: string;
  list: string;
  component: () => JSX.Element;
}[] = [
  {
    sidebar: 'vmplane-vms',
    label: 'VMs',
    path: '/vmplane/vms',
    list: ROUTES.vms,
    component: VmList,
  },
  {
    sidebar: 'vmplane-disks',
    label: 'Disks',
    path: '/vmplane/disks',
    list: ROUTES.disks,
    component: DiskList,
  },
  {
    sidebar: 'vmplane-images',
    label: 'Images',
    path: '/vmplane/images',
    list: ROUTES.images,
    component: ImageList,
  },
  {
    sidebar: 'vmplane-classes',
    label: 'Classes',
    path: '/vmplane/classes',
    list: ROUTES.classes,
    component: ClassList,
  },
  {
    sidebar: 'vmplane-storageprofiles',
    label: 'Storage Profiles',
    path: '/vmplane/storageprofiles',
    list: ROUTES.profiles,
    component: StorageProfileList,
  },
  {
    sidebar: 'vmplane-policies',
    label: 'Policies',
    path: '/vmplane/policies',
    list: ROUTES.policies,
    component: PolicyList,
  },
  {
    sidebar: 'vmplane-networks',
    label: 'Networks',
    path: '/vmplane/networks',
    list: ROUTES.networks,
    component: NetworkList,
  },
];

for (const p of pages) {
  registerSidebarEntry({ parent: GROUP, name: p.sidebar, label: p.label, url: p.path });
  registerRoute({
    path: p.path,
    sidebar: p.sidebar,
    name: p.list,
    exact: true,
    component: p.component,
  });
}

const details: { sidebar: string; path: string; name: string; component: () => JSX.Element }[] = [
  {
    sidebar: 'vmplane-vms',
    path: '/vmplane/vms/create',
    name: ROUTES.create,
    component: CreateWizard,
  },
  {
    sidebar: 'vmplane-vms',
    path: '/vmplane/vms/:namespace/:name',
    name: ROUTES.vm,
    component: VmDetails,
  },
  {
    sidebar: 'vmplane-disks',
    path: '/vmplane/disks/:namespace/:name',
    name: ROUTES.disk,
    component: DiskDetails,
  },
  {
    sidebar: 'vmplane-images',
    path: '/vmplane/images/cluster/:name',
    name: ROUTES.clusterImage,
    component: ClusterImageDetails,
  },
  {
    sidebar: 'vmplane-images',
    path: '/vmplane/images/:namespace/:name',
    name: ROUTES.image,
    component: ImageDetails,
  },
  {
    sidebar: 'vmplane-classes',
    path: '/vmplane/classes/:name',
    name: ROUTES.class,
    component: ClassDetails,
  },
  {
    sidebar: 'vmplane-storageprofiles',
    path: '/vmplane/storageprofiles/:name',
    name: ROUTES.profile,
    component: StorageProfileDetails,
  },
  {
    sidebar: 'vmplane-policies',
    path: '/vmplane/policies/:name',
    name: ROUTES.policy,
    component: PolicyDetails,
  },
];
for (const d of details)
  registerRoute({
    path: d.path,
    sidebar: d.sidebar,
    name: d.name,
    exact: true,
    component: d.component,
  });

registerKindIcon('VirtualMachine', { icon: ICONS.vm });
registerKindIcon('VirtualMachineDisk', { icon: ICONS.disk });
