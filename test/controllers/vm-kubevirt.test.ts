// The VM controller and KubeVirt, against a real API server with KubeVirt's and CDI's CRDs: what
// it hands over (the translated spec, owned by the vmplane VM), how vmplane's status follows the
// engine (power on and off, a class change waiting for the power cycle, a pause the engine cannot
// do), and what it does not hand over and says why (a missing class, devices KubeVirt does not
// permit, a KubeVirt VM the API server refuses). The test plays the engine (test/support/
// vm-controller.ts); nothing here claims a VM booted.
import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { bootDataVolumeName } from '../../controllers/src/vm/names.ts';
import {
  condition,
  get,
  kvPath,
  merge,
  ns,
  rest,
  suffix,
  until,
  vm,
  vmPath,
  startVmControllers,
} from '../support/vm-controller.ts';

startVmControllers();

describe('VirtualMachine controller', () => {
  it('hands the VM to KubeVirt with the translated spec, owned by the vmplane VM', async () => {
    await rest.create(vm('web'));
    const kv = await until('the KubeVirt VM', () => get(kvPath('web')));
    expect(kv.spec.runStrategy).toBe('Always');
    expect(kv.spec.template.spec.domain.cpu).toEqual({ cores: 2, sockets: 1, threads: 1 });
    expect(kv.spec.template.spec.domain.resources).toEqual({
      requests: { cpu: '200m', memory: '4Gi' },
    });
    expect(kv.spec.dataVolumeTemplates[0]).toMatchObject({
      metadata: { name: bootDataVolumeName('web') },
      spec: {
        source: { http: { url: 'https://example.com/u.img' } },
        storage: { storageClassName: 'ceph', resources: { requests: { storage: '20Gi' } } },
      },
    });
    const ours = await get(vmPath('web'));
    expect(
      (kv as { metadata: { ownerReferences?: { uid: string }[] } }).metadata.ownerReferences?.[0]
        ?.uid,
    ).toBe((ours as { metadata: { uid?: string } }).metadata.uid);
    expect(ours?.metadata.finalizers).toContain('vmplane.io/vm-cleanup');
    const st = await until('status', async () => {
      const v = await get(vmPath('web'));
      return condition(v, 'EngineAvailable') ? v : undefined;
    });
    expect(condition(st, 'ClassResolved')).toMatchObject({ status: 'True' });
    expect(condition(st, 'EngineAvailable')).toMatchObject({
      status: 'True',
      reason: 'KubeVirtDeployed',
    });
    expect(condition(st, 'DisksReady')).toMatchObject({
      status: 'False',
      reason: 'DisksNotReady',
      message: `DataVolume ${bootDataVolumeName('web')} is not created yet`,
    });
    expect(st.status?.printableStatus).toBe('Pending');
  });

  it('follows power transitions: PoweredOn -> PoweredOff -> PoweredOn, with status from the engine', async () => {
    await merge(vmPath('web'), { spec: { powerState: 'PoweredOff' } });
    await until(
      'runStrategy Halted',
      async () => (await get(kvPath('web')))?.spec.runStrategy === 'Halted',
    );
    await merge(`${kvPath('web')}/status`, {
      status: { printableStatus: 'Stopped', ready: false },
    });
    const stopped = await until('vmplane status Stopped', async () => {
      const v = await get(vmPath('web'));
      return v?.status?.printableStatus === 'Stopped' ? v : undefined;
    });
    expect(stopped.status).toMatchObject({ phase: 'Stopped', powerState: 'PoweredOff' });
    expect(condition(stopped, 'Ready')).toMatchObject({
      status: 'False',
      message: 'the VM is powered off',
    });

    await merge(vmPath('web'), { spec: { powerState: 'PoweredOn' } });
    await until(
      'runStrategy Always',
      async () => (await get(kvPath('web')))?.spec.runStrategy === 'Always',
    );
    // The engine starts it: virt-controller makes a VMI from the VM's template, virt-handler
    // writes its status through the main resource (the real VMI CRD has no status subresource).
    const template = (await get(kvPath('web')))?.spec.template;
    await rest.create({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'web', namespace: ns, labels: template.metadata.labels },
      spec: template.spec,
    });
    await merge(`/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/web`, {
      status: {
        phase: 'Running',
        nodeName: 'node-a',
        interfaces: [
          {
            name: 'default',
            ipAddress: '10.0.0.7',
            ipAddresses: ['10.0.0.7', 'fd00::7'],
            mac: '02:00:00:00:00:07',
          },
        ],
        guestOSInfo: {
          name: 'Ubuntu',
          prettyName: 'Ubuntu 24.04 LTS',
          version: '24.04',
          kernelRelease: '6.8.0',
        },
        // virt-handler's word that the guest agent answers: only then is its report claimed.
        conditions: [{ type: 'AgentConnected', status: 'True' }],
      },
    });
    const statusPath = `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/web/status`;
    await expect(get(statusPath)).resolves.toBeUndefined();
    await merge(`${kvPath('web')}/status`, { status: { printableStatus: 'Running', ready: true } });
    const running = await until('vmplane status Running', async () => {
      const v = await get(vmPath('web'));
      return v?.status?.printableStatus === 'Running' && v.status.primaryIP ? v : undefined;
    });
    expect(running.status).toMatchObject({
      phase: 'Running',
      powerState: 'PoweredOn',
      nodeName: 'node-a',
      primaryIP: '10.0.0.7',
      ipAddresses: ['10.0.0.7', 'fd00::7'],
      guestOS: {
        name: 'Ubuntu',
        prettyName: 'Ubuntu 24.04 LTS',
        version: '24.04',
        kernel: '6.8.0',
      },
      class: { name: `small-${suffix}`, cpus: 2, memory: '4Gi', reservation: 'BestEffort' },
    });
    expect(condition(running, 'Ready')).toMatchObject({ status: 'True' });
    expect(condition(running, 'AgentConnected')).toMatchObject({
      status: 'True',
      reason: 'AgentConnected',
      message: 'the QEMU guest agent answers; the guest runs Ubuntu 24.04 LTS',
    });
  });

  it('does not resize a running VM when its class changes: the change waits for the next power cycle', async () => {
    await merge(vmPath('web'), { spec: { className: `medium-${suffix}` } });
    const pending = await until('RestartPending', async () => {
      const v = await get(vmPath('web'));
      return condition(v, 'RestartPending')?.status === 'True' ? v : undefined;
    });
    expect(condition(pending, 'RestartPending')?.message).toContain(`class medium-${suffix}`);
    expect(pending.status?.class).toMatchObject({ name: `small-${suffix}`, cpus: 2 });
    expect((await get(kvPath('web')))?.spec.template.spec.domain.cpu.cores).toBe(2);

    // Power cycle: the engine stops the VM (the VMI goes); the new class applies.
    await rest.request(
      'DELETE',
      `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/web`,
    );
    await merge(`${kvPath('web')}/status`, {
      status: { printableStatus: 'Stopped', ready: false },
    });
    await until(
      '4 vCPUs in the engine',
      async () => (await get(kvPath('web')))?.spec.template.spec.domain.cpu.cores === 4,
    );
    const applied = await until('the new class recorded', async () => {
      const v = await get(vmPath('web'));
      return v?.status?.class?.name === `medium-${suffix}` ? v : undefined;
    });
    expect(applied.status?.class).toMatchObject({
      cpus: 4,
      memory: '8Gi',
      reservation: 'Guaranteed',
    });
    expect(condition(applied, 'RestartPending')?.status).toBe('False');
    expect((await get(kvPath('web')))?.spec.template.spec.domain.resources).toEqual({
      requests: { cpu: '4', memory: '8Gi' },
      limits: { cpu: '4', memory: '8Gi' },
    });
  });

  it('says when the class or image is missing, without crashing', async () => {
    await rest.create(vm('orphan', { className: 'no-such-class' }));
    const v = await until('ClassResolved False', async () => {
      const x = await get(vmPath('orphan'));
      return condition(x, 'ClassResolved') ? x : undefined;
    });
    expect(condition(v, 'ClassResolved')).toMatchObject({
      status: 'False',
      reason: 'ClassNotFound',
    });
    expect(await get(kvPath('orphan'))).toBeUndefined();
  });

  it("reports a failed pause when KubeVirt's subresource API is not served, instead of pretending", async () => {
    await merge(vmPath('web'), { spec: { powerState: 'Suspended' } });
    const template = (await get(kvPath('web')))?.spec.template;
    await rest.create({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'web', namespace: ns, labels: template.metadata.labels },
      spec: template.spec,
    });
    await merge(`${kvPath('web')}/status`, { status: { printableStatus: 'Running', ready: true } });
    const v = await until('PowerAction condition while the engine reports Running', async () => {
      const x = await get(vmPath('web'));
      return condition(x, 'PowerAction') && x?.status?.printableStatus === 'Running'
        ? x
        : undefined;
    });
    expect(condition(v, 'PowerAction')).toMatchObject({
      status: 'False',
      reason: 'PowerActionFailed',
    });
    expect(condition(v, 'PowerAction')?.message).toContain('could not pause the VM');
    expect(v.status?.powerState).toBe('PoweredOn'); // it is not suspended, and status says so
  });

  it("makes a refusal of the KubeVirt VM visible on the VM: EngineAccepted=False with the API server's words, and a Warning Event", async () => {
    // Stands in for KubeVirt's own webhook refusing a VM: an admission policy on kubevirt.io VMs.
    const policy = `refuse-kv-${suffix}`;
    await rest.create({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: policy },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ['kubevirt.io'],
              apiVersions: ['v1'],
              operations: ['CREATE', 'UPDATE'],
              resources: ['virtualmachines'],
            },
          ],
        },
        validations: [
          {
            expression: "!object.metadata.name.startsWith('refused-')",
            message: 'this cluster refuses VMs named refused-*',
          },
        ],
      },
    });
    await rest.create({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: policy },
      spec: {
        policyName: policy,
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
        },
      },
    });
    try {
      await until('the admission policy in force', async () => {
        try {
          await rest.create(
            {
              apiVersion: 'kubevirt.io/v1',
              kind: 'VirtualMachine',
              metadata: { name: 'refused-probe', namespace: ns },
              // Valid for KubeVirt's own admission: only the policy refuses it.
              spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {} } } } },
            } as never,
            { dryRun: true },
          );
          return false;
        } catch {
          return true;
        }
      });
      await rest.create(vm('refused-1'));
      const v = await until('EngineAccepted=False', async () => {
        const x = await get(vmPath('refused-1'));
        return condition(x, 'EngineAccepted')?.status === 'False' ? x : undefined;
      });
      expect(condition(v, 'EngineAccepted')).toMatchObject({ reason: 'EngineRefused' });
      expect(condition(v, 'EngineAccepted')?.message).toContain(
        'the API server refused the KubeVirt VirtualMachine vmplane made for this VM (HTTP 422)',
      );
      expect(condition(v, 'EngineAccepted')?.message).toContain(
        'this cluster refuses VMs named refused-*',
      );
      expect(v.status).toMatchObject({ printableStatus: 'EngineRefused', phase: 'Failed' });
      expect(condition(v, 'Ready')).toMatchObject({ status: 'False', reason: 'EngineRefused' });
      const events = await until('the Warning Event', async () => {
        const list = (
          await rest.request<{ items: { reason: string; type: string; message: string }[] }>(
            'GET',
            `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name=refused-1`,
          )
        ).body.items;
        return list.find((e) => e.reason === 'EngineRefused');
      });
      expect(events.type).toBe('Warning');
      expect(events.message).toContain('this cluster refuses VMs named refused-*');
    } finally {
      await rest.request(
        'DELETE',
        `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${policy}`,
      );
      await rest.request(
        'DELETE',
        `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${policy}`,
      );
    }
  });

  it('does not hand over a VM whose class has devices KubeVirt does not permit, and says which', async () => {
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachineClass',
      metadata: { name: `gpu-${suffix}` },
      spec: {
        hardware: {
          cpus: 4,
          memory: '8Gi',
          devices: { gpus: [{ name: 'gpu', deviceName: 'nvidia.com/GA102GL_A10' }] },
        },
      },
    });
    await rest.create(vm('trainer', { className: `gpu-${suffix}` }));
    const v = await until('ClassResolved=False', async () => {
      const x = await get(vmPath('trainer'));
      return condition(x, 'ClassResolved')?.status === 'False' ? x : undefined;
    });
    expect(condition(v, 'ClassResolved')).toMatchObject({ reason: 'DevicesNotPermitted' });
    expect(condition(v, 'ClassResolved')?.message).toContain(
      'nvidia.com/GA102GL_A10 is not in spec.configuration.permittedHostDevices of KubeVirt kubevirt/kubevirt',
    );
    expect(await get(kvPath('trainer'))).toBeUndefined();
  });
});
