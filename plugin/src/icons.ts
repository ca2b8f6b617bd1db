// Icons registered locally (Headlamp would otherwise fetch them from the Iconify API, which
// fails offline). Drawn for vmplane: simple 24x24 outlines.
import { addIcon } from '@iconify/react';

export const ICONS = {
  vm: 'vmplane:vm',
  disk: 'vmplane:disk',
} as const;

export function registerIcons(): void {
  addIcon(ICONS.vm, {
    width: 24,
    height: 24,
    body: '<path fill="currentColor" d="M3 4h18a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1h-7v2h3v2H7v-2h3v-2H3a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm1 2v9h16V6zm2 1h5v3H6zm0 4h8v2H6z"/>',
  });
  addIcon(ICONS.disk, {
    width: 24,
    height: 24,
    body: '<path fill="currentColor" d="M12 3c4.4 0 8 1.3 8 3v12c0 1.7-3.6 3-8 3s-8-1.3-8-3V6c0-1.7 3.6-3 8-3zm0 2C8.1 5 6 6 6 6.5S8.1 8 12 8s6-1 6-1.5S15.9 5 12 5zm6 4.3C16.5 9.8 14.4 10 12 10s-4.5-.2-6-.7V18c0 .5 2.1 1.5 6 1.5s6-1 6-1.5z"/>',
  });
}
