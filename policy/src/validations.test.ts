// The CEL validations (validations.ts): expressions with Kubernetes' libraries, messages,
// rule names, compile errors with their positions, reasons, UPDATE and DELETE.
import { describe, expect, it } from 'vitest';
import type { VirtualMachine } from '../../api/generated/types.ts';
import { celEngine } from '../../test/support/cel.ts';
import { policy, policyRunner, results, vm } from '../../test/support/policy.ts';
import { compilePolicy } from './compile.ts';
import { admissionVerdict } from './evaluate.ts';
import type { RuleResult } from './types.ts';

const engine = await celEngine();
const run = policyRunner(engine);

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

  it('uses a message expression as the API server does: trimmed, and not when blank or multi-line', async () => {
    const results = await run(
      policy({
        validations: [
          { expression: 'false', message: 'static', messageExpression: "'  padded  '" },
          { expression: 'false', message: 'static', messageExpression: "'   '" },
          { expression: 'false', message: 'static', messageExpression: "'two\\nlines'" },
        ],
      }),
      vm(),
    );
    expect(results.map((r) => r.message)).toEqual(['padded', 'static', 'static']);
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
