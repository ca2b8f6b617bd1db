// PolicyReport (wgpolicyk8s.io/v1alpha2): the report format shared by Kyverno, Policy Reporter and
// other tools, so vmplane's audit results show up wherever teams already look. vmplane installs
// this CRD when the cluster lacks it; the schema covers the fields of the format that vmplane writes
// and keeps the rest open, so other writers' reports stay valid.
import type { KindDefinition } from '../kind.ts';
import { arr, enumOf, int, obj, str, stringMap } from '../schema.ts';

export const REPORT_RESULTS = ['pass', 'fail', 'warn', 'error', 'skip'] as const;

const objectReference = obj('A reference to the object a result is about.', {
  apiVersion: str('API version of the object.'),
  kind: str('Kind of the object.'),
  name: str('Name of the object.'),
  namespace: str('Namespace of the object.'),
  uid: str('UID of the object.', { maxLength: 64 }),
});

export const policyReport: KindDefinition = {
  kind: 'PolicyReport',
  plural: 'policyreports',
  singular: 'policyreport',
  shortNames: ['polr'],
  scope: 'Namespaced',
  group: 'wgpolicyk8s.io',
  version: 'v1alpha2',
  categories: ['vmplane', 'policy'],
  description:
    'A PolicyReport holds the results of policy checks for the objects of one namespace, in the format shared by Kyverno, Policy Reporter and vmplane. vmplane writes one per namespace with the audit of its VMs.',
  rootFields: {
    scope: objectReference,
    summary: obj('How many results of each kind the report holds.', {
      pass: int('Results that passed.', { minimum: 0 }),
      fail: int('Results that failed.', { minimum: 0 }),
      warn: int('Results that only warn.', { minimum: 0 }),
      error: int('Results whose check could not be evaluated.', { minimum: 0 }),
      skip: int('Results skipped (policy not matching, or waived by an exception).', {
        minimum: 0,
      }),
    }),
    results: arr(
      'One result per object, policy and rule.',
      obj(
        'The outcome of one rule of one policy for one object.',
        {
          source: str('The tool that produced the result (vmplane).', { maxLength: 63 }),
          policy: str('The policy name.'),
          rule: str('The rule name within the policy.'),
          result: enumOf('pass, fail, warn, error or skip.', REPORT_RESULTS),
          message: str('What was found, for people.', { maxLength: 4096 }),
          category: str('A grouping of policies, for display.', { maxLength: 253 }),
          severity: enumOf('How serious a failure is.', [
            'critical',
            'high',
            'medium',
            'low',
            'info',
          ]),
          scored: { type: 'boolean', description: 'Whether the result counts towards a score.' },
          timestamp: obj('When the result was produced.', {
            seconds: {
              type: 'integer',
              format: 'int64',
              description: 'Seconds since the Unix epoch.',
            },
            nanos: int('Nanoseconds within the second.', { minimum: 0 }),
          }),
          resources: arr('The objects the result is about.', objectReference, { maxItems: 16 }),
          properties: stringMap('Extra facts, such as the exception that waived a violation.'),
        },
        { required: ['policy', 'result'] },
      ),
      { maxItems: 100000 },
    ),
  },
  printerColumns: [
    { name: 'PASS', type: 'integer', jsonPath: '.summary.pass', description: 'Passed results.' },
    { name: 'FAIL', type: 'integer', jsonPath: '.summary.fail', description: 'Failed results.' },
    { name: 'WARN', type: 'integer', jsonPath: '.summary.warn', description: 'Warnings.' },
    { name: 'ERROR', type: 'integer', jsonPath: '.summary.error', description: 'Errors.' },
    { name: 'SKIP', type: 'integer', jsonPath: '.summary.skip', description: 'Skipped results.' },
    {
      name: 'AGE',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
};
