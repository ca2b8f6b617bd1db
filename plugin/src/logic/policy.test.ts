import { describe, expect, it } from 'vitest';
import { denialReasons, resultsForVm } from './policy';

const vm = { name: 'web', namespace: 'team-a', uid: 'u-1' };

describe('resultsForVm', () => {
  it('keeps the results about this VM, by uid or by name, failures first', () => {
    const rows = resultsForVm(
      [
        {
          metadata: { name: 'r', namespace: 'team-a' },
          results: [
            { policy: 'p2', rule: 'r1', result: 'pass', resources: [{ uid: 'u-1' }] },
            {
              policy: 'p1',
              rule: 'maxCPUs',
              result: 'fail',
              message: '16 vCPUs',
              severity: 'high',
              resources: [{ kind: 'VirtualMachine', name: 'web' }],
            },
            {
              policy: 'p3',
              rule: 'x',
              result: 'fail',
              resources: [{ kind: 'VirtualMachine', name: 'db' }],
            },
          ],
        },
      ] as never,
      vm
    );
    expect(rows).toEqual([
      { policy: 'p1', rule: 'maxCPUs', result: 'fail', message: '16 vCPUs', severity: 'high' },
      { policy: 'p2', rule: 'r1', result: 'pass', message: '', severity: '' },
    ]);
  });
  it("ignores other namespaces' reports and a same-named VM elsewhere", () => {
    const rows = resultsForVm(
      [
        {
          metadata: { name: 'r', namespace: 'team-b' },
          results: [
            { policy: 'p', result: 'fail', resources: [{ kind: 'VirtualMachine', name: 'web' }] },
          ],
        },
        {
          metadata: { name: 'cluster' },
          results: [
            {
              policy: 'q',
              result: 'fail',
              resources: [{ kind: 'VirtualMachine', name: 'web', namespace: 'team-b' }],
            },
          ],
        },
      ] as never,
      vm
    );
    expect(rows).toEqual([]);
  });
});

describe('denialReasons', () => {
  it('splits the reasons of a webhook denial', () => {
    expect(
      denialReasons(
        'admission webhook "vm.vmplane.io" denied the request: policy "limits" rule maxCPUs: 16 vCPUs is over 4; spec.className: "huge" is not available in namespace team-a'
      )
    ).toEqual([
      'policy "limits" rule maxCPUs: 16 vCPUs is over 4',
      'spec.className: "huge" is not available in namespace team-a',
    ]);
  });
  it('keeps a semicolon that is part of a reason and drops the status prefix of other errors', () => {
    expect(denialReasons('Unprocessable Entity - spec.cpus: must be 1;2 or 4')).toEqual([
      'spec.cpus: must be 1;2 or 4',
    ]);
  });
});
