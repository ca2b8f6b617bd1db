// The Kubernetes CEL engine in the test's own thread (the global setup built it and exported
// its folder); for unit tests of the policy code and the offline CLI.
import { ensureKubernetesCel } from '../../policy/src/kcel-build.ts';
import { CEL_DIR_ENV, celSchemas, KubernetesCel } from '../../policy/src/index.ts';

/** The folder holding kcel.wasm. */
export async function celDir(): Promise<string> {
  return process.env[CEL_DIR_ENV] ?? (await ensureKubernetesCel(() => undefined));
}

export async function celEngine(): Promise<KubernetesCel> {
  return KubernetesCel.load(await celDir(), celSchemas());
}
