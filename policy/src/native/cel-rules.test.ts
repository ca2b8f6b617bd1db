// Which CEL validations qualify: the scan of what an expression reads, and the reasons given.
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import type { VirtualMachinePolicy } from '../../../api/generated/types.ts';
import { globRegex } from './builtin.ts';
import { celTranslation, expressionProblem } from './cel-rules.ts';
import { celReferences } from './cel-text.ts';
import { nativePlan } from './plan.ts';

describe('celReferences', () => {
  it('finds variables and the fields selected from them, not names in strings or selections', () => {
    expect(
      celReferences(
        'object.spec.image.name == \'vmClass\' && request.userInfo.groups.exists(g, g == "image") // vmClass',
      ),
    ).toEqual([
      ['object', 'spec', 'image', 'name'],
      ['request', 'userInfo', 'groups'],
      ['g'],
      ['g'],
    ]);
    expect(celReferences("object.?metadata.?labels.orValue({})['a'] == r'''vmClass'''")).toEqual([
      ['object', 'metadata', 'labels'],
    ]);
    expect(celReferences("'unterminated")).toBeUndefined();
  });
});

describe('expressionProblem', () => {
  it.each([
    ['vmClass.spec.hardware.cpus < 8', 'reads vmClass'],
    ["has(image.spec.size) && object.metadata.name != ''", 'reads image'],
    ['object.spec.disks.all(image, image.size != "")', 'reads image'],
    ["authorizer.group('').resource('x').check('get').allowed()", 'uses authorizer'],
    ["request.name == 'x'", 'reads request.name'],
    ['request.userInfo.uid != ""', 'reads request.userInfo.uid'],
    ['request.userInfo == {}', 'reads request.userInfo,'],
    [
      'namespaceObject.metadata.managedFields.size() > 0',
      'reads namespaceObject.metadata.managedFields',
    ],
  ])('keeps %s in the webhook (%s)', (expr, why) => {
    expect(expressionProblem(expr, 'expression')).toContain(why);
  });

  it.each([
    "object.metadata.name.startsWith('vmClass')",
    "request.userInfo.username == 'alice' && 'devs' in request.userInfo.groups",
    "request.operation == 'DELETE' || request.dryRun",
    "namespaceObject.metadata.labels['tier'] == 'prod'",
    'oldObject == null || object.spec == oldObject.spec',
    'object.spec.image.name.matches("^ubuntu-")',
  ])('runs %s in the API server', (expr) => {
    expect(expressionProblem(expr, 'expression')).toBeUndefined();
  });

  it('keeps messages the API server would show differently in the webhook', () => {
    expect(celTranslation({ expression: 'a ==\n b' }, 0, 'p')).toEqual({
      reason: 'its message spans several lines, which the API server does not show',
    });
    expect(celTranslation({ expression: 'true', message: 'done. ' }, 0, 'p')).toEqual({
      reason: 'its message ends in blanks, which the API server trims',
    });
    expect(
      celTranslation({ expression: 'true', messageExpression: 'vmClass.metadata.name' }, 0, 'p'),
    ).toEqual({
      reason:
        'its messageExpression reads vmClass (the VirtualMachineClass), which the API server cannot look up',
    });
  });
});

describe('globRegex', () => {
  it('matches as picomatch does, for the globs it translates', () => {
    const globs = ['ubuntu-*', '*', '*-approved', 'debian-1?', '?buntu', 'a.b', 'win*-20??', 'x-y'];
    const names = [
      'ubuntu-',
      'ubuntu-24.04',
      '.ubuntu',
      'x-approved',
      '-approved',
      '.x-approved',
      'debian-12',
      'debian-1',
      'debian-123',
      'ubuntu',
      '.buntu',
      'a.b',
      'aXb',
      'win-2022',
      'windows-2019',
      'x-y',
      'a/b',
      'ubuntu-a/b',
      'Ubuntu-1',
    ];
    for (const g of globs) {
      const re = new RegExp(`^(?:${globRegex(g) ?? 'NONE'})$`);
      for (const n of names) expect(re.test(n), `${g} ~ ${n}`).toBe(picomatch(g)(n));
    }
    for (const g of ['[ab]*', '{a,b}', 'a**', '*?x', '!a', 'KIND/x'])
      expect(globRegex(g)).toBeUndefined();
  });
});

describe('nativePlan and CEL that does not compile', () => {
  it('leaves a validation the webhook could not compile in the webhook', () => {
    const p = {
      apiVersion: 'vmplane.io/v1alpha1',
      kind: 'VirtualMachinePolicy',
      metadata: { name: 'p' },
      spec: {
        validationActions: ['Deny'],
        validations: [
          { name: 'a', expression: 'true', messageExpression: 'object.spec.zone' },
          { name: 'b', expression: 'true' },
        ],
      },
    } as VirtualMachinePolicy;
    const plan = nativePlan(p, {
      exceptions: [],
      ownNamespace: 'v',
      now: new Date(),
      celErrors: ['spec.validations[0].messageExpression: must evaluate to string but got dyn'],
    });
    expect(plan.native).toEqual(['b']);
    expect(plan.webhook).toEqual([
      {
        rule: 'a',
        reason:
          'its CEL does not compile (spec.validations[0].messageExpression: must evaluate to string but got dyn), which the webhook works around',
      },
    ]);
  });
});
