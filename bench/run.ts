// `npm run bench`: vmplane's performance, each figure beside its baseline from the same run (the
// machines are noisy; ratios matter more than absolute times). Writes bench/results/results.json
// and results.md and prints the table. Sizes: BENCH_E2E_VMS (1000), BENCH_VMS (controllers:
// 1000,5000), BENCH_RSS_VMS (VMs cached when memory is read: 10000), BENCH_UI_VMS (the plugin's
// VM list: 5000), BENCH_KUBEVIRT_VMS (KubeVirt VMs written with and without KubeVirt's own
// admission: 500), BENCH_E2E_POLICIES (the end-to-end policy counts: 10,50).
// BENCH_ONLY=webhook,startup,e2e,calls,controllers,plugin,sandbox,kubevirt runs some sections only
// (sandbox: npm start to the first VM Running under the local engine, which needs QEMU).
import { cpus } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../api/src/paths.ts';
import { ensureBinaries } from '../harness/src/controlplane/binaries.ts';
import { ensureKubernetesCel } from '../policy/src/kcel-build.ts';
import { CEL_DIR_ENV } from '../policy/src/index.ts';
import { ControlPlane } from '../harness/src/controlplane/controlplane.ts';
import { installCrds, kubeConfigFrom } from '../kube/src/client.ts';
import { ApiError, KubeRest } from '../kube/src/rest.ts';
import { deleteFleet } from '../test/support/fleet.ts';
import { createNamespace, createWorld } from './cluster.ts';
import { webhookCalls } from './calls.ts';
import { controllers } from './controllers.ts';
import { throughApiServer } from './e2e.ts';
import { pluginBench } from './plugin.ts';
import { buildBundle, killChildren } from './processes.ts';
import { kubevirtAdmission } from './kubevirt-admission.ts';
import { createResultsDir, writeResults } from './results.ts';
import { sandboxBench } from './sandbox.ts';
import { startup } from './startup.ts';
import { webhookAlone } from './webhook.ts';

let controlPlane: ControlPlane | undefined;
process.on('exit', killChildren);
// Ctrl-C or SIGTERM: stop the control plane and remove its files before leaving.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killChildren();
    void (controlPlane?.stop() ?? Promise.resolve()).then(() => process.exit(130));
  });
}

type Results = Record<string, unknown>;

/** The sections to run: BENCH_ONLY's list, or all of them. */
function chosenSections(): Set<string> {
  return new Set(
    (process.env.BENCH_ONLY ?? 'webhook,startup,calls,e2e,controllers,plugin,sandbox,kubevirt')
      .split(',')
      .map((x) => x.trim()),
  );
}

function machine(): Record<string, unknown> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    date: new Date().toISOString(),
  };
}

/** The sections that need the API server, in this order, with vmplane's CRDs installed. */
async function againstApiServer(
  kubeconfig: string,
  only: Set<string>,
  results: Results,
): Promise<void> {
  const kc = kubeConfigFrom(kubeconfig);
  await installCrds(kc, join(REPO_ROOT, 'charts/vmplane/crds'));
  const rest = new KubeRest(kc);
  // First, while the API server holds no other VM: the plugin's list counts all of them.
  if (only.has('plugin')) {
    results.plugin = await pluginBench(kubeconfig, rest, Number(process.env.BENCH_UI_VMS ?? 5000));
    await deleteFleet(rest, 'ui-fleet');
  }
  if (only.has('kubevirt'))
    results.kubevirtAdmission = await kubevirtAdmission(
      kubeconfig,
      rest,
      Number(process.env.BENCH_KUBEVIRT_VMS ?? 500),
    );
  for (const ns of ['vmplane-start', 'vmplane-bench']) await createNamespace(rest, ns);
  await createWorld(rest);
  if (only.has('startup')) results.startup = await startup(kubeconfig, rest);
  const n = Number(process.env.BENCH_E2E_VMS ?? 1000);
  const policyCounts = (process.env.BENCH_E2E_POLICIES ?? '10,50').split(',').map(Number);
  if (only.has('calls')) results.calls = await webhookCalls(kubeconfig, rest);
  if (only.has('e2e')) results.endToEnd = await throughApiServer(kubeconfig, rest, n, policyCounts);
  const sizes = (process.env.BENCH_VMS ?? '1000,5000')
    .split(',')
    .map(Number)
    .filter((x) => x > 0);
  if (only.has('controllers'))
    results.controllers = await controllers(
      kubeconfig,
      rest,
      sizes,
      Number(process.env.BENCH_RSS_VMS ?? 10000),
    );
  rest.close();
}

async function main(): Promise<void> {
  createResultsDir();
  const results: Results = { machine: machine() };
  const only = chosenSections();
  // Every webhook and audit this run starts (in-process, children, the bundle) finds the CEL engine here.
  process.env[CEL_DIR_ENV] ??= await ensureKubernetesCel((l) => console.log(l));
  console.log('building the production bundle (dist/vmplane.mjs)');
  await buildBundle();
  if (only.has('webhook')) results.webhook = await webhookAlone();
  if (only.has('sandbox')) results.sandbox = await sandboxBench();

  const cp = new ControlPlane({ binaries: await ensureBinaries(), tempPrefix: 'vmplane-bench-' });
  controlPlane = cp;
  const ep = await cp.start();
  try {
    await againstApiServer(ep.kubeconfigPath, only, results);
  } catch (e) {
    if (e instanceof ApiError) console.error(e.message);
    throw e;
  } finally {
    await cp.stop();
  }
  writeResults(results);
}

// Any error (a measured run with a failed request among them: measure.ts) fails the run with its
// text and no table: a figure from a broken setup is no figure.
try {
  await main();
  process.exit(0);
} catch (e) {
  console.error(`\nnpm run bench failed: ${e instanceof Error ? e.message : String(e)}`);
  killChildren();
  process.exit(1);
}
