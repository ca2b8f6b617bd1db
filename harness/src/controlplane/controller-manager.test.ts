import { describe, expect, it } from 'vitest';
import { CONTROLLERS_LEFT_OUT, controllerManagerArgs } from './controller-manager.ts';

describe('kube-controller-manager launcher', () => {
  const args = controllerManagerArgs({ dir: '/d', port: 10257 });

  it('runs every default controller but those that need kubelets, a cloud or a signing key', () => {
    const controllers = args
      .find((a) => a.startsWith('--controllers='))
      ?.split('=')[1]
      ?.split(',');
    expect(controllers?.[0]).toBe('*');
    expect(controllers?.slice(1)).toEqual(CONTROLLERS_LEFT_OUT.map((c) => `-${c}`));
    for (const needed of [
      'garbage-collector-controller',
      'namespace-controller',
      'persistentvolume-binder-controller',
      'persistentvolume-expander-controller',
      'persistentvolumeclaim-protection-controller',
      'persistentvolume-protection-controller',
    ])
      expect(CONTROLLERS_LEFT_OUT).not.toContain(needed);
  });

  it('acts as each controller’s own service account, with the API server’s key and CA', () => {
    expect(args).toEqual(
      expect.arrayContaining([
        '--kubeconfig=/d/controller-manager.kubeconfig',
        '--use-service-account-credentials=true',
        '--service-account-private-key-file=/d/sa.key',
        '--root-ca-file=/d/ca.crt',
        '--bind-address=127.0.0.1',
        '--secure-port=10257',
        '--leader-elect=false',
      ]),
    );
  });
});
