// Expectations follow KubeVirt v1.7.0 pkg/instancetype (apply/cpu.go, apply/memory.go,
// preference/apply/cpu.go, annotations).
import { describe, expect, it } from 'vitest';
import {
  applyInstancetype,
  instancetypeAnnotations,
  lookupPath,
  topology,
} from './instancetype.ts';

describe('instance types', () => {
  it('puts the vCPUs in sockets by default, or as the preference says', () => {
    expect(topology(4, undefined)).toEqual({ sockets: 4, cores: 1, threads: 1 });
    expect(topology(4, 'cores')).toEqual({ sockets: 1, cores: 4, threads: 1 });
    expect(topology(4, 'spread')).toEqual({ sockets: 2, cores: 2, threads: 1 });
  });

  it('gives the instance the type’s vCPUs and memory, and refuses a template that sets them', () => {
    const applied = applyInstancetype(
      { domain: { devices: {} } },
      { cpu: { guest: 2 }, memory: { guest: '512Mi' } },
      undefined,
    );
    expect(applied).toEqual({
      ok: true,
      spec: {
        domain: {
          devices: {},
          cpu: { sockets: 2, cores: 1, threads: 1 },
          memory: { guest: '512Mi' },
        },
      },
    });
    const clash = applyInstancetype(
      { domain: { memory: { guest: '1Gi' } } },
      { memory: { guest: '512Mi' } },
      undefined,
    );
    expect(clash).toEqual({
      ok: false,
      message:
        'VMI conflicts with instancetype spec in fields: [spec.template.spec.domain.memory.guest]',
    });
  });

  it('finds cluster-wide types unless the kind is namespaced, with the API server’s not-found words', () => {
    expect(lookupPath({ name: 'u1.small' }, 'ns', 'instancetype')).toEqual({
      path: '/apis/instancetype.kubevirt.io/v1beta1/virtualmachineclusterinstancetypes/u1.small',
      notFound: 'virtualmachineclusterinstancetypes.instancetype.kubevirt.io "u1.small" not found',
    });
    expect(
      lookupPath({ name: 'x', kind: 'VirtualMachinePreference' }, 'ns', 'preference').path,
    ).toBe('/apis/instancetype.kubevirt.io/v1beta1/namespaces/ns/virtualmachinepreferences/x');
    expect(
      instancetypeAnnotations(
        { name: 'u1.small' },
        { name: 'p', kind: 'VirtualMachinePreference' },
      ),
    ).toEqual({
      'kubevirt.io/cluster-instancetype-name': 'u1.small',
      'kubevirt.io/preference-name': 'p',
    });
  });
});
