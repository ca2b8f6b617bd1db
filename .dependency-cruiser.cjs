// The import direction of vmplane's layers, checked by dependency-cruiser in npm test
// (test/layers.test.ts): api <- kube <- policy <- webhooks, controllers, engine <- cli; the plugin uses
// api and policy only. Tests may import the test support folder; bench and test are consumers.
const source = (dir) => ({ path: `^${dir}/`, pathNot: '\\.test\\.tsx?$' });

module.exports = {
  forbidden: [
    {
      name: 'api-imports-nothing-of-vmplane',
      comment: 'api/ is the one source of the API: it depends on no other part of vmplane.',
      severity: 'error',
      from: source('api'),
      to: { path: '^(kube|policy|webhooks|controllers|engine|cli|plugin|bench|test)/' },
    },
    {
      name: 'kube-imports-only-api',
      comment:
        'kube/ talks to Kubernetes for everyone above it; it knows api/ and nothing else of vmplane.',
      severity: 'error',
      from: source('kube'),
      to: { path: '^(policy|webhooks|controllers|engine|cli|plugin|bench|test)/' },
    },
    {
      name: 'policy-imports-only-api-and-kube',
      comment:
        'policy/ is shared by the webhook, the audit, the CLI and the plugin: it sits below all of them.',
      severity: 'error',
      from: source('policy'),
      to: { path: '^(webhooks|controllers|engine|cli|plugin|bench|test)/' },
    },
    {
      name: 'webhooks-do-not-import-controllers-or-cli',
      comment:
        'webhooks/ and controllers/ are peers: what both need belongs in api/, kube/ or policy/.',
      severity: 'error',
      from: source('webhooks'),
      to: { path: '^(controllers|engine|cli|plugin|bench|test)/' },
    },
    {
      name: 'controllers-do-not-import-webhooks-or-cli',
      comment:
        'webhooks/ and controllers/ are peers: what both need belongs in api/, kube/ or policy/.',
      severity: 'error',
      from: source('controllers'),
      to: { path: '^(webhooks|engine|cli|plugin|bench|test)/' },
    },
    {
      name: 'engine-imports-only-api-and-kube',
      comment:
        'engine/ is the local KubeVirt-compatible engine: a client of the Kubernetes API like any engine, so it knows api/ and kube/ only.',
      severity: 'error',
      from: source('engine'),
      to: { path: '^(policy|webhooks|controllers|cli|plugin|bench|test)/' },
    },
    {
      name: 'cli-does-not-import-tests-or-bench',
      severity: 'error',
      from: source('cli'),
      to: { path: '^(plugin|bench|test)/' },
    },
    {
      name: 'plugin-imports-only-api-and-policy',
      comment:
        'The Headlamp plugin runs in the browser: of vmplane it may use api/ and policy/ only.',
      severity: 'error',
      from: source('plugin'),
      to: { path: '^(kube|webhooks|controllers|engine|cli|bench|test)/' },
    },
    {
      name: 'tests-in-layers-import-only-test-support',
      comment:
        'A unit test beside the code may use the shared test builders, nothing else of test/.',
      severity: 'error',
      from: { path: '^(api|kube|policy|webhooks|controllers|engine|cli)/.+\\.test\\.tsx?$' },
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
