// `kubectl vm`'s way to the cluster: the kubectl-style flags (--kubeconfig, --context, -n), the
// client they give, and how a refused request is told (who we are, on a 403) before exiting 1.
import { KubeConfig } from '@kubernetes/client-node';
import type { Argv } from 'yargs';
import { ApiError, KubeRest } from '../../../kube/src/rest.ts';
import { explainError } from './actions.ts';

/** The path of vmplane's API group. */
export const VMPLANE = '/apis/vmplane.io/v1alpha1';

/** The kubectl-style flags every cluster command takes. */
export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** The cluster a command talks to: its kubeconfig, a client, and the namespace to work in. */
export interface ClusterContext {
  kc: KubeConfig;
  rest: KubeRest;
  namespace: string;
}

/** The request that failed, for the error message. */
export interface FailedRequest {
  verb: string;
  resource: string;
  name?: string;
  namespace?: string;
}

/** Adds the kubectl-style flags to a command. */
export const clusterOptions = (command: Argv): Argv<ClusterOptions> =>
  command
    .option('kubeconfig', {
      type: 'string',
      describe: 'path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)',
    })
    .option('context', { type: 'string', describe: 'the kubeconfig context to use' })
    .option('namespace', {
      alias: 'n',
      type: 'string',
      describe: "the namespace (default: the context's)",
    }) as never;

export function clusterContext(argv: ClusterOptions): ClusterContext {
  const kc = new KubeConfig();
  if (argv.kubeconfig) kc.loadFromFile(argv.kubeconfig);
  else kc.loadFromDefault();
  if (argv.context) kc.setCurrentContext(argv.context);
  const namespace =
    argv.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return { kc, rest: new KubeRest(kc), namespace };
}

/** Who the API server thinks we are, for 403 messages. */
async function whoAmI(rest: KubeRest): Promise<string | undefined> {
  try {
    const review = await rest.request<{ status?: { userInfo?: { username?: string } } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      },
    );
    return review.body.status?.userInfo?.username;
  } catch {
    return undefined;
  }
}

/** Says on stderr why `what` failed (naming the user on a 403) and exits 1. */
export async function fail(ctx: ClusterContext, e: unknown, what: FailedRequest): Promise<never> {
  const user = e instanceof ApiError && e.code === 403 ? await whoAmI(ctx.rest) : undefined;
  process.stderr.write(`error: ${explainError(e, { ...what, ...(user ? { user } : {}) })}\n`);
  ctx.rest.close();
  process.exit(1);
}

/**
 * Runs a command's work against the cluster the flags name: an error is told as `fail` tells it
 * (exit 1), and the client is closed once the work is done.
 */
export async function withCluster(
  argv: ClusterOptions,
  what: (ctx: ClusterContext) => FailedRequest,
  work: (ctx: ClusterContext) => Promise<void>,
): Promise<void> {
  const ctx = clusterContext(argv);
  try {
    await work(ctx);
  } catch (e) {
    await fail(ctx, e, what(ctx));
  }
  ctx.rest.close();
}
