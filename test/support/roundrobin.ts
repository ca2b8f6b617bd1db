// A TCP proxy on loopback that spreads connections over several backends in turn, the way a
// Service spreads them over its Pods. Backends are looked up per connection, so they may be
// added after the proxy started.
import { connect, type Socket } from 'node:net';
import { LoopbackProxy } from './proxy.ts';

export class RoundRobinProxy extends LoopbackProxy {
  private next = 0;
  /** Connections sent to each backend, by index. */
  readonly served: number[] = [];

  constructor(private readonly backends: () => number[]) {
    super();
  }

  protected onConnection(client: Socket): void {
    const ports = this.backends();
    if (!ports.length) {
      client.destroy();
      return;
    }
    const i = this.next++ % ports.length;
    this.served[i] = (this.served[i] ?? 0) + 1;
    const upstream = connect(ports[i] as number, '127.0.0.1');
    this.track(client, upstream);
    client.pipe(upstream).pipe(client);
  }
}
