// A TCP proxy on loopback that can turn into a blackhole: it keeps every connection open and
// accepts new ones, but forwards nothing in either direction, the way a dead link or a partitioned
// node looks to a client (no reset, no close; only silence).
import { connect, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeConfig } from './cluster.ts';
import { LoopbackProxy } from './proxy.ts';

export class BlackholeProxy extends LoopbackProxy {
  /** While true, bytes are dropped both ways. */
  blackholed = false;
  connections = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    super();
  }

  protected onConnection(client: Socket): void {
    this.connections++;
    const upstream = connect(this.targetPort, this.targetHost);
    this.track(client, upstream);
    client.on('data', (b: Buffer) => {
      if (!this.blackholed) upstream.write(b);
    });
    upstream.on('data', (b: Buffer) => {
      if (!this.blackholed) client.write(b);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  }
}

/** The test cluster's KubeConfig with its API server reached through a proxy on this port. */
export function kubeConfigThrough(port: number): KubeConfig {
  const kc = kubeConfig();
  const current = kc.getCurrentCluster();
  if (new URL(current?.server ?? '').hostname !== '127.0.0.1')
    throw new Error(`the test API server is not on loopback: ${current?.server}`);
  const cut = new KubeConfig();
  cut.loadFromOptions({
    clusters: kc.clusters.map((c) =>
      c.name === current?.name ? { ...c, server: `https://127.0.0.1:${port}` } : c,
    ),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return cut;
}
