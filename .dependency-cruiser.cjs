// The import direction of vmplane's layers, checked by dependency-cruiser in npm test
// (test/layers.test.ts):
//
//   api <- kube <- policy <- decisions <- webhooks, controllers <- cli (the user's programs)
//   api <- kube <- engine (the local KubeVirt-compatible engine)
//   everything above <- harness (the development harness) <- bench, test
//
// The plugin uses api and policy only. Unit tests beside the code may import the shared test
// support folder; bench and test are consumers of everything, the harness included.
const PARTS = [
  'api',
  'kube',
  'policy',
  'decisions',
  'webhooks',
  'controllers',
  'engine',
  'cli',
  'harness',
  'plugin',
  'bench',
  'test',
];
const source = (dir) => ({ path: `^${dir}/`, pathNot: '\\.test\\.tsx?$' });
/** A part may import itself and the parts it names; any other part of vmplane is an error. */
const rule = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: source(from),
  to: { path: `^(${PARTS.filter((p) => p !== from && !allowed.includes(p)).join('|')})/` },
});

module.exports = {
  forbidden: [
    rule(
      'api-imports-nothing-of-vmplane',
      'api',
      [],
      'api/ is the one source of the API: it depends on no other part of vmplane.',
    ),
    rule(
      'kube-imports-only-api',
      'kube',
      ['api'],
      'kube/ talks to Kubernetes for everyone above it; it knows api/ and nothing else of vmplane.',
    ),
    rule(
      'policy-imports-only-api-and-kube',
      'policy',
      ['api', 'kube'],
      'policy/ is shared by the webhook, the audit, the CLI and the plugin: it sits below all of them.',
    ),
    rule(
      'decisions-are-below-webhooks-controllers-and-clis',
      'decisions',
      ['api', 'kube', 'policy'],
      'decisions/ holds the pure rules of what a VM may be: every caller imports them from here, and they import no caller.',
    ),
    rule(
      'webhooks-do-not-import-controllers-or-clis',
      'webhooks',
      ['api', 'kube', 'policy', 'decisions'],
      'webhooks/ and controllers/ are peers: what both need belongs in api/, kube/, policy/ or decisions/.',
    ),
    rule(
      'controllers-do-not-import-webhooks-or-clis',
      'controllers',
      ['api', 'kube', 'policy', 'decisions'],
      'webhooks/ and controllers/ are peers: what both need belongs in api/, kube/, policy/ or decisions/.',
    ),
    rule(
      'engine-imports-only-api-and-kube',
      'engine',
      ['api', 'kube'],
      'engine/ is the local KubeVirt-compatible engine: a client of the Kubernetes API like any engine, so it knows api/ and kube/ only.',
    ),
    rule(
      'cli-never-imports-the-harness',
      'cli',
      ['api', 'kube', 'policy', 'decisions', 'webhooks', 'controllers'],
      "cli/ is the user's programs (kubectl vm, vmplane, the krew bundle, the image's entry point): they ship without the development harness.",
    ),
    rule(
      'harness-does-not-import-tests-or-bench',
      'harness',
      ['api', 'kube', 'policy', 'decisions', 'webhooks', 'controllers', 'engine', 'cli'],
      'harness/ (control plane, sandbox, UI server, test runner) is used by bench/ and test/, never the other way round.',
    ),
    rule(
      'plugin-imports-only-api-and-policy',
      'plugin',
      ['api', 'policy'],
      'The Headlamp plugin runs in the browser: of vmplane it may use api/ and policy/ only.',
    ),
    {
      name: 'bench-imports-only-test-support-of-tests',
      comment: 'The benchmarks share the test builders (test/support), never a test file.',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/', pathNot: '^test/support/' },
    },
    {
      name: 'tests-in-layers-import-only-test-support',
      comment:
        'A unit test beside the code may use the shared test builders, nothing else of test/.',
      severity: 'error',
      from: {
        path: '^(api|kube|policy|decisions|webhooks|controllers|engine|cli|harness)/.+\\.test\\.tsx?$',
      },
      to: { path: '^test/', pathNot: '^test/support/' },
    },
    {
      name: 'no-circular',
      comment: 'Modules that import each other cannot be understood, or split, one at a time.',
      severity: 'error',
      from: { pathNot: '^plugin/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|generated/schemas/.+\\.json$)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.mjs', '.js'] },
  },
};
