import { imageMatchers } from './rules.ts';
import { describe, expect, it } from 'vitest';
import type { VirtualMachine, VirtualMachinePolicyException } from '../../api/generated/types.ts';
import {
  admissionVerdict,
  buildContext,
  compilePolicy,
  evaluatePolicies,
  PolicyCompiler,
  type RuleResult,
} from './index.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { celEngine } from '../../test/support/cel.ts';
import {
  lookups,
  policy,
  policyRunner,
  results,
  vm,
  type Spec,
} from '../../test/support/policy.ts';

const engine = await celEngine();
const run = policyRunner(engine);

const V = API_VERSION;

// [name, rules, vm, expected result of that rule, words in the message]
const builtins: [string, NonNullable<Spec['rules']>, VirtualMachine, 'pass' | 'fail', string][] = [
  ['allowed class by name', { allowedClasses: { names: ['small'] } }, vm(), 'pass', ''],
  [
    'class not in the names',
    { allowedClasses: { names: ['prod-medium'] } },
    vm(),
    'fail',
    'class "small" is not allowed; allowed: prod-medium',
  ],
  [
    'allowed class by label selector',
    { allowedClasses: { selector: { matchLabels: { tier: 'prod' } } } },
    vm({ className: 'prod-medium' }),
    'pass',
    '',
  ],
  [
    'class outside the selector',
    { allowedClasses: { selector: { matchLabels: { tier: 'prod' } } } },
    vm(),
    'fail',
    "classes matching the policy's selector",
  ],
  [
    'guaranteed only, guaranteed class',
    { allowedClasses: { reservations: ['Guaranteed'] } },
    vm({ className: 'prod-medium' }),
    'pass',
    '',
  ],
  [
    'guaranteed only, best-effort class',
    { allowedClasses: { reservations: ['Guaranteed'] } },
    vm(),
    'fail',
    'class "small" is BestEffort; only Guaranteed classes are allowed',
  ],
  [
    'an unresolvable class',
    { allowedClasses: { names: ['small'] } },
    vm({ className: 'ghost' }),
    'fail',
    'class "ghost" could not be resolved',
  ],
  ['image by exact name', { allowedImages: ['ubuntu-24.04'] }, vm(), 'pass', ''],
  [
    'image by glob',
    { allowedImages: ['ubuntu-*'] },
    vm({ image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-22.04' } }),
    'pass',
    '',
  ],
  [
    'image outside the globs',
    { allowedImages: ['ubuntu-*'] },
    vm({ image: { kind: 'ClusterVirtualMachineImage', name: 'windows-2022' } }),
    'fail',
    'image "windows-2022" is not in the approved library; allowed: ubuntu-*',
  ],
  [
    'image by kind/name glob',
    { allowedImages: ['ClusterVirtualMachineImage/*'] },
    vm(),
    'pass',
    '',
  ],
  [
    'namespace image against a cluster-only glob',
    { allowedImages: ['ClusterVirtualMachineImage/*'] },
    vm({ image: { kind: 'VirtualMachineImage', name: 'mine' } }),
    'fail',
    'not in the approved library',
  ],
  [
    'no image (boots from a disk)',
    { allowedImages: ['ubuntu-*'] },
    vm({
      image: undefined,
      bootDisk: undefined,
      disks: [{ name: 'root', virtualMachineDiskName: 'data', boot: true }],
    }),
    'pass',
    '',
  ],
  ['cpus within the cap', { maxCPUs: 4 }, vm(), 'pass', ''],
  [
    'cpus over the cap',
    { maxCPUs: 16 },
    vm({ className: 'big' }),
    'fail',
    '32 vCPUs (class "big") exceed the maximum of 16',
  ],
  [
    'memory 8192Mi against 8Gi (equal is fine)',
    { maxMemory: '8Gi' },
    vm({ className: 'mem-8192mi' }),
    'pass',
    '',
  ],
  [
    'memory 128Gi against 64Gi',
    { maxMemory: '64Gi' },
    vm({ className: 'big' }),
    'fail',
    'memory 128Gi (class "big") exceeds the maximum of 64Gi',
  ],
  [
    'memory 16Gi against 8192Mi (units differ)',
    { maxMemory: '8192Mi' },
    vm({ className: 'prod-medium' }),
    'fail',
    'memory 16Gi',
  ],
  [
    'disks within the count',
    { maxDisks: 2 },
    vm({ disks: [{ name: 'a', size: '1Gi' }] }),
    'pass',
    '',
  ],
  [
    'too many disks (boot disk counts)',
    { maxDisks: 1 },
    vm({ disks: [{ name: 'a', size: '1Gi' }] }),
    'fail',
    '2 disks exceed the maximum of 1',
  ],
  [
    'total size within the cap',
    { maxTotalDiskSize: '100Gi' },
    vm({ disks: [{ name: 'a', size: '50Gi' }] }),
    'pass',
    '',
  ],
  [
    'total size counts existing disks',
    { maxTotalDiskSize: '100Gi' },
    vm({ disks: [{ name: 'a', virtualMachineDiskName: 'data' }] }),
    'fail',
    'disks total 20Gi + 500Gi, more than the maximum of 100Gi',
  ],
  ['allowed storage class', { allowedStorageClasses: ['local', 'ceph'] }, vm(), 'pass', ''],
  [
    'storage class not allowed',
    { allowedStorageClasses: ['ceph'] },
    vm(),
    'fail',
    'spec.bootDisk uses storage class "local"; allowed: ceph',
  ],
  ['pod network allowed by default name', { allowedNetworks: ['pod'] }, vm(), 'pass', ''],
  [
    'an L2 network not allowed',
    { allowedNetworks: ['pod'] },
    vm({ network: { interfaces: [{ name: 'nic0', network: 'vlan-42' }] } }),
    'fail',
    'interface nic0 is on network "vlan-42"; allowed: pod',
  ],
  ['required label present', { requiredLabels: [{ key: 'vmplane.io/owner' }] }, vm(), 'pass', ''],
  [
    'required label missing',
    { requiredLabels: [{ key: 'cost-center' }] },
    vm(),
    'fail',
    'label cost-center is required',
  ],
  [
    'label value not allowed',
    { requiredLabels: [{ key: 'vmplane.io/owner', values: ['team-b'] }] },
    vm(),
    'fail',
    'label vmplane.io/owner="team-a" must be one of team-b',
  ],
  [
    'required annotation missing',
    { requiredAnnotations: [{ key: 'backup' }] },
    vm(),
    'fail',
    'annotation backup is required',
  ],
  ['GPUs forbidden, plain class', { allowGPUs: false }, vm(), 'pass', ''],
  [
    'GPUs forbidden, GPU class',
    { allowGPUs: false },
    vm({ className: 'gpu' }),
    'fail',
    'class "gpu" has GPUs or passthrough devices',
  ],
  ['GPUs allowed', { allowGPUs: true }, vm({ className: 'gpu' }), 'pass', ''],
  ['power state allowed', { allowedPowerStates: ['PoweredOn', 'PoweredOff'] }, vm(), 'pass', ''],
  [
    'power state not allowed',
    { allowedPowerStates: ['PoweredOn', 'PoweredOff'] },
    vm({ powerState: 'Suspended' }),
    'fail',
    'power state Suspended is not allowed; allowed: PoweredOn, PoweredOff',
  ],
];

describe('built-in rules', () => {
  it.each(builtins)('%s', async (_n, rules, object, want, words) => {
    const [r] = await run(policy({ rules }), object);
    expect(r?.result).toBe(want);
    if (words) expect(r?.message).toContain(words);
  });
});

// [name, expression, vm, expected, words]
const cel: [string, string, VirtualMachine, 'pass' | 'fail' | 'error', string][] = [
  ['a true expression', "object.spec.powerState != 'Suspended'", vm(), 'pass', ''],
  [
    'a false expression',
    "object.spec.powerState == 'Suspended'",
    vm(),
    'fail',
    "failed: object.spec.powerState == 'Suspended'",
  ],
  [
    'quantity comparison with different units',
    "quantity(vmClass.spec.hardware.memory).compareTo(quantity('8192Mi')) <= 0",
    vm({ className: 'mem-8192mi' }),
    'pass',
    '',
  ],
  [
    'quantity isGreaterThan',
    "!quantity(vmClass.spec.hardware.memory).isGreaterThan(quantity('64Gi'))",
    vm({ className: 'big' }),
    'fail',
    '',
  ],
  [
    'quantity isLessThan on disks',
    "quantity(object.spec.bootDisk.size).isLessThan(quantity('1Ti'))",
    vm(),
    'pass',
    '',
  ],
  ['isQuantity', "isQuantity(object.spec.bootDisk.size) && !isQuantity('lots')", vm(), 'pass', ''],
  [
    'a missing field is a runtime error, reported with its position',
    "object.metadata.annotations['backup'] == 'yes'",
    vm(),
    'error',
    'expression could not be evaluated: no such key: annotations',
  ],
  [
    'has() guards a missing field',
    "!has(object.metadata.annotations) || object.metadata.annotations['backup'] == 'yes'",
    vm(),
    'pass',
    '',
  ],
  ['the resolved image', "image.spec.size == '10Gi'", vm(), 'pass', ''],
  ['the namespace object', "namespaceObject.metadata.labels['tier'] == 'dev'", vm(), 'pass', ''],
  [
    'the requesting user',
    "request.userInfo.username == 'alice' && 'devs' in request.userInfo.groups",
    vm(),
    'pass',
    '',
  ],
  [
    'exists over disks',
    "object.spec.disks.exists(d, d.name == 'scratch')",
    vm({ disks: [{ name: 'scratch', size: '1Gi' }] }),
    'pass',
    '',
  ],
  [
    'all over labels',
    "object.metadata.labels.all(k, k.startsWith('vmplane.io/'))",
    vm(),
    'pass',
    '',
  ],
];

describe('CEL validations', () => {
  it.each(cel)('%s', async (_n, expression, object, want, words) => {
    const [r] = await run(policy({ validations: [{ expression }] }), object);
    expect(r?.result, r?.message).toBe(want);
    if (words) expect(r?.message).toContain(words);
  });

  it('uses messageExpression, and its value', async () => {
    const [r] = await run(
      policy({
        validations: [
          {
            expression: 'false',
            message: 'static',
            messageExpression: "'class ' + object.spec.className + ' is frozen'",
          },
        ],
      }),
      vm(),
    );
    expect(r?.message).toBe('class small is frozen');
  });

  it('falls back to message when messageExpression fails', async () => {
    const [r] = await run(
      policy({
        validations: [
          { expression: 'false', message: 'static', messageExpression: "'class ' + object.nope" },
        ],
      }),
      vm(),
    );
    expect(r?.message).toBe('static');
  });

  it('names rules cel-<index> unless named', async () => {
    const rs = await run(
      policy({ validations: [{ expression: 'true' }, { name: 'owner', expression: 'true' }] }),
      vm(),
    );
    expect(rs.map((r) => r.rule)).toEqual(['cel-0', 'owner']);
  });

  it('reports compile errors with their position, and compiles nothing else of that validation', async () => {
    const c = await compilePolicy(
      engine,
      policy({
        validations: [
          { expression: 'true' },
          { expression: "object.spec.powerState != 'Suspended' &&" },
          { expression: "'a' + 1" },
          { expression: 'object.spec.className' },
        ],
      }),
    );
    expect(c.errors).toEqual([
      "spec.validations[1].expression: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER} at line 1, column 41",
      "spec.validations[2].expression: found no matching overload for '_+_' applied to '(string, int)' at line 1, column 5",
      'spec.validations[3].expression: must evaluate to bool but got dyn',
    ]);
    expect(c.cel.map((r) => r.name)).toEqual(['cel-0']);
  });

  it('maps reason to the HTTP code of the denial', async () => {
    const [r] = await run(
      policy({ validations: [{ expression: 'false', reason: 'Invalid' }] }),
      vm(),
    );
    expect(admissionVerdict([r as RuleResult]).denials[0]?.code).toBe(422);
  });

  it('sees oldObject on UPDATE', async () => {
    const old = vm({ className: 'small' });
    const [r] = await run(
      policy({
        validations: [
          {
            expression: 'oldObject.spec.className == object.spec.className',
            message: 'class is frozen',
          },
        ],
      }),
      vm({ className: 'big' }),
      { op: 'UPDATE', old },
    );
    expect(r).toMatchObject({ result: 'fail', message: 'class is frozen' });
  });

  it('runs on DELETE with object null, skipping built-ins', async () => {
    const p = policy({
      match: { operations: ['DELETE'] },
      rules: { maxCPUs: 1 },
      validations: [
        {
          expression: "object == null && oldObject.metadata.labels['protected'] != 'true'",
          message: 'protected VMs cannot be deleted',
        },
      ],
    });
    const rs = await run(p, undefined, {
      op: 'DELETE',
      old: vm({}, { labels: { protected: 'true' } }),
    });
    expect(results(rs)).toEqual(['cel-0:fail']);
    expect(rs[0]?.message).toBe('protected VMs cannot be deleted');
  });
});

describe('matching', () => {
  it('applies to CREATE and UPDATE by default, not DELETE', async () => {
    const p = policy({ validations: [{ expression: 'false' }] });
    expect(await run(p, vm())).toHaveLength(1);
    expect(await run(p, vm(), { op: 'UPDATE', old: vm() })).toHaveLength(1);
    expect(await run(p, undefined, { op: 'DELETE', old: vm() })).toHaveLength(0);
  });

  it('honours the operations list', async () => {
    expect(
      await run(policy({ match: { operations: ['UPDATE'] }, rules: { maxCPUs: 1 } }), vm()),
    ).toHaveLength(0);
  });

  it('selects namespaces by label', async () => {
    const p = policy({
      match: { namespaceSelector: { matchLabels: { tier: 'production' } } },
      rules: { maxCPUs: 1 },
    });
    expect(await run(p, vm())).toHaveLength(0);
    expect(results(await run(p, vm({}, { namespace: 'prod' })))).toEqual(['maxCPUs:fail']);
  });

  it('selects VMs by label', async () => {
    const p = policy({
      match: { vmSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] } },
      rules: { maxCPUs: 1 },
    });
    expect(await run(p, vm())).toHaveLength(0);
    expect(await run(p, vm({}, { labels: { app: 'db' } }))).toHaveLength(1);
  });

  it('reports skips for unmatched policies when asked', async () => {
    const l = lookups();
    const ctx = buildContext({ operation: 'CREATE', object: vm(), namespace: 'dev' }, l);
    const p = await compilePolicy(
      engine,
      policy({
        match: { namespaceSelector: { matchLabels: { tier: 'production' } } },
        rules: { maxCPUs: 1, maxDisks: 1 },
      }),
    );
    expect(results(await evaluatePolicies(engine, [p], [], ctx, { includeSkips: true }))).toEqual([
      'maxCPUs:skip',
      'maxDisks:skip',
    ]);
  });
});

const exception = (
  spec: Partial<VirtualMachinePolicyException['spec']>,
  ns = 'dev',
): VirtualMachinePolicyException => ({
  apiVersion: V,
  kind: 'VirtualMachinePolicyException',
  metadata: { name: 'ex', namespace: ns },
  spec: { policyName: 'p', reason: 'approved by the platform team', vmNames: ['web'], ...spec },
});

describe('exceptions', () => {
  const p = policy({ rules: { maxCPUs: 1, maxDisks: 0 } });

  it('waive the whole policy for a named VM, and say so', async () => {
    const rs = await run(p, vm(), { exceptions: [exception({})] });
    expect(results(rs)).toEqual(['maxCPUs:skip', 'maxDisks:skip']);
    expect(rs[0]?.exception).toBe('dev/ex');
    expect(rs[0]?.message).toContain('waived by exception dev/ex: approved by the platform team');
    expect(admissionVerdict(rs)).toMatchObject({
      denials: [],
      exceptionsUsed: [{ rule: 'maxCPUs' }, { rule: 'maxDisks' }],
    });
  });

  it('waive only the listed rules', async () => {
    expect(
      results(await run(p, vm(), { exceptions: [exception({ rules: ['maxCPUs'] })] })),
    ).toEqual(['maxCPUs:skip', 'maxDisks:fail']);
  });

  it('select VMs by label', async () => {
    const ex = exception({
      vmNames: undefined,
      vmSelector: { matchLabels: { 'vmplane.io/owner': 'team-a' } },
    });
    expect(results(await run(p, vm(), { exceptions: [ex] }))).toEqual([
      'maxCPUs:skip',
      'maxDisks:skip',
    ]);
  });

  it('do not apply to other VMs, other namespaces or other policies', async () => {
    expect(
      results(await run(p, vm({}, { name: 'other' }), { exceptions: [exception({})] })),
    ).toEqual(['maxCPUs:fail', 'maxDisks:fail']);
    expect(results(await run(p, vm(), { exceptions: [exception({}, 'prod')] }))).toEqual([
      'maxCPUs:fail',
      'maxDisks:fail',
    ]);
    expect(results(await run(p, vm(), { exceptions: [exception({ policyName: 'q' })] }))).toEqual([
      'maxCPUs:fail',
      'maxDisks:fail',
    ]);
  });

  it('stop applying once expired', async () => {
    const ex = exception({ expires: '2026-11-01T00:00:00Z' });
    expect(results(await run(p, vm(), { exceptions: [ex] }))).toEqual([
      'maxCPUs:fail',
      'maxDisks:fail',
    ]);
    expect(
      results(await run(p, vm(), { exceptions: [ex], now: Date.parse('2026-10-01T00:00:00Z') })),
    ).toEqual(['maxCPUs:skip', 'maxDisks:skip']);
  });
});

describe('modes', () => {
  const failing = (actions: ('Deny' | 'Warn' | 'Audit')[]): Promise<RuleResult[]> =>
    run(policy({ validationActions: actions, rules: { maxCPUs: 1 } }), vm());

  it('Deny: fail, and the request is denied with the policy and rule named', async () => {
    const rs = await failing(['Deny']);
    expect(results(rs)).toEqual(['maxCPUs:fail']);
    expect(admissionVerdict(rs).denials).toEqual([
      {
        code: 403,
        message: 'policy "p" rule maxCPUs: 2 vCPUs (class "small") exceed the maximum of 1',
      },
    ]);
  });

  it('Warn: warn, and the request is admitted with a warning', async () => {
    const v = admissionVerdict(await failing(['Warn']));
    expect(v.denials).toEqual([]);
    expect(v.warnings).toEqual([
      'policy "p" rule maxCPUs: 2 vCPUs (class "small") exceed the maximum of 1',
    ]);
  });

  it('Audit: admitted, recorded for the report', async () => {
    const v = admissionVerdict(await failing(['Audit']));
    expect(v).toMatchObject({
      denials: [],
      warnings: [],
      audits: [{ policy: 'p', rule: 'maxCPUs', result: 'fail' }],
    });
  });

  it('Deny and Audit together: denied and recorded', async () => {
    const v = admissionVerdict(await failing(['Deny', 'Audit']));
    expect(v.denials).toHaveLength(1);
    expect(v.audits).toHaveLength(1);
  });

  it('Warn and Audit together: warned and recorded', async () => {
    const rs = await failing(['Warn', 'Audit']);
    expect(results(rs)).toEqual(['maxCPUs:warn']);
    expect(admissionVerdict(rs)).toMatchObject({
      warnings: [expect.any(String)],
      audits: [expect.any(Object)],
    });
  });

  it('a runtime error denies under Deny: guardrails fail closed', async () => {
    const rs = await run(
      policy({ validations: [{ expression: "object.metadata.annotations['x'] == 'y'" }] }),
      vm(),
    );
    expect(admissionVerdict(rs).denials[0]?.message).toContain('expression could not be evaluated');
  });

  it('passing rules produce no denial, warning or audit', async () => {
    expect(
      admissionVerdict(
        await run(policy({ validationActions: ['Deny', 'Audit'], rules: { maxCPUs: 64 } }), vm()),
      ),
    ).toEqual({ denials: [], warnings: [], audits: [], exceptionsUsed: [] });
  });

  it('several policies are all evaluated', async () => {
    const rs = await run(
      [
        policy({ rules: { maxCPUs: 1 } }, 'a'),
        policy({ validationActions: ['Warn'], rules: { maxDisks: 0 } }, 'b'),
      ],
      vm(),
    );
    expect(rs.map((r) => `${r.policy}/${r.rule}:${r.result}`)).toEqual([
      'a/maxCPUs:fail',
      'b/maxDisks:warn',
    ]);
  });
});

describe('compiling once', () => {
  it('reuses the compiled policy until its generation changes', async () => {
    const c = new PolicyCompiler(engine);
    const p = policy({ rules: { maxCPUs: 1 } });
    p.metadata.uid = 'u1';
    const first = (await c.compiled([p]))[0];
    expect((await c.compiled([p]))[0]).toBe(first);
    const next = { ...p, metadata: { ...p.metadata, generation: 2 } };
    expect((await c.compiled([next]))[0]).not.toBe(first);
    expect(c.size).toBe(1);
  });
});

describe('allowedImages patterns', () => {
  it('compile once per policy generation and match as before', async () => {
    const patterns = ['ubuntu-*', 'ClusterVirtualMachineImage/debian-1?'];
    const first = imageMatchers(patterns);
    expect(imageMatchers(patterns)).toBe(first);
    expect(
      first.map((m) => [
        m.withKind,
        m.match('ubuntu-24.04'),
        m.match('ClusterVirtualMachineImage/debian-12'),
      ]),
    ).toEqual([
      [false, true, false],
      [true, false, true],
    ]);
  });
});
