// The container's entry point: `serve webhooks` or `serve controllers` (one image, two roles).
import { main as controllers } from '../../controllers/src/main.ts';
import { main as webhooks } from '../../webhooks/src/main.ts';

const role = process.argv[2];
if (role === 'webhooks') await webhooks();
else if (role === 'controllers') await controllers();
else {
  console.error(`usage: serve webhooks|controllers (got ${JSON.stringify(role ?? '')})`);
  process.exit(2);
}
