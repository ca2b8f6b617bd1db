import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../api/src/paths.ts';
import { celEngine } from '../../../test/support/cel.ts';
import { loadWorld, runPolicyTests, whereRulesRun } from './offline.ts';

const engine = await celEngine();

const run = promisify(execFile);
const LIBRARY = join(REPO_ROOT, 'examples/policies');
const scratch = mkdtempSync(join(tmpdir(), 'vmplane-policytest-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'cli/src/main.ts'), ...args],
      { cwd: REPO_ROOT },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('vmplane policy test', () => {
  it('passes on the ready-made library, covering all eight policies', async () => {
    const world = await loadWorld(engine, [LIBRARY]);
    const { rows, problems } = await runPolicyTests(world);
    expect(world.warnings).toEqual([]);
    expect(problems).toEqual([]);
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    expect(new Set(rows.map((r) => r.policy)).size).toBe(8);
    expect(new Set(rows.map((r) => r.expected))).toEqual(new Set(['pass', 'fail', 'warn', 'skip']));
  });

  it('exits 0 from the command line, printing the table', async () => {
    const r = await cli(['policy', 'test', 'examples/policies']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^RESOURCE\s+POLICY\s+RULE\s+EXPECTED\s+GOT\s+OK/);
    expect(r.stdout).toContain('26 of 26 expectations met');
    expect(r.stdout).toMatch(
      /VirtualMachineService\/dev\/public-web\s+load-balancers-only-in-production\s+allowedServiceTypes\s+fail\s+fail\s+ok/,
    );
    expect(r.stdout).toContain('Where each rule runs (native enforcement on):');
    expect(r.stdout).toMatch(/owner-label-required\s+requiredLabels\s+API server\n/);
    expect(r.stdout).toMatch(
      /memory-cap-64gi\s+maxMemory\s+webhook \(reads the VirtualMachineClass, which the API server cannot look up\)/,
    );
  });

  it('says where each rule of the library runs, and why the others stay in the webhook', async () => {
    const where = whereRulesRun(await loadWorld(engine, [LIBRARY]));
    expect(where).toEqual([
      {
        policy: 'approved-images-only',
        rule: 'allowedImages',
        runsIn:
          'webhook (a KIND/NAME pattern needs the kind of the image the VM boots from, which the API server cannot look up)',
      },
      {
        policy: 'gpus-only-for-ml',
        rule: 'allowGPUs',
        runsIn: 'webhook (reads the VirtualMachineClass, which the API server cannot look up)',
      },
      { policy: 'live-migratable-storage', rule: 'no-readwriteonce', runsIn: 'API server' },
      {
        policy: 'memory-cap-64gi',
        rule: 'maxMemory',
        runsIn: 'webhook (reads the VirtualMachineClass, which the API server cannot look up)',
      },
      {
        policy: 'production-networks',
        rule: 'allowedNetworks',
        runsIn: 'API server',
      },
      {
        policy: 'load-balancers-only-in-production',
        rule: 'allowedServiceTypes',
        runsIn:
          'webhook (checks VirtualMachineServices, which the generated ValidatingAdmissionPolicy (written for VirtualMachines) does not cover)',
      },
      { policy: 'owner-label-required', rule: 'requiredLabels', runsIn: 'API server' },
      {
        policy: 'production-guaranteed-only',
        rule: 'allowedClasses',
        runsIn: 'webhook (reads the VirtualMachineClass, which the API server cannot look up)',
      },
    ]);
  });

  it('fails on a deliberately wrong expectation, showing what happened instead', async () => {
    const dir = join(scratch, 'wrong');
    cpSync(LIBRARY, dir, { recursive: true });
    const testFile = join(dir, 'vmplane-test.yaml');
    writeFileSync(
      testFile,
      readFileSync(testFile, 'utf8').replace(
        'resources: [prod/cache], result: fail',
        'resources: [prod/cache], result: pass',
      ),
    );
    const r = await cli(['policy', 'test', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /prod\/cache\s+memory-cap-64gi\s+maxMemory\s+pass\s+fail\s+MISMATCH\s+memory 128Gi \(class "guaranteed-xlarge"\) exceeds the maximum of 64Gi/,
    );
    expect(r.stdout).toContain('25 of 26 expectations met');
  });

  it('reports a policy whose CEL does not compile, and a test naming a missing VM', async () => {
    const dir = join(scratch, 'broken');
    cpSync(LIBRARY, dir, { recursive: true });
    const p = join(dir, 'live-migratable-storage.yaml');
    writeFileSync(
      p,
      readFileSync(p, 'utf8').replace('(!has(object.spec.bootDisk)', '(!has(object.spec.bootDisk'),
    );
    const t = join(dir, 'vmplane-test.yaml');
    writeFileSync(
      t,
      `${readFileSync(t, 'utf8')}  - {policy: memory-cap-64gi, rule: maxMemory, resources: [prod/ghost], result: pass}\n`,
    );
    const { problems } = await runPolicyTests(await loadWorld(engine, [dir]));
    expect(
      problems.some((x) =>
        x.startsWith(
          'VirtualMachinePolicy/live-migratable-storage: spec.validations[0].expression:',
        ),
      ),
    ).toBe(true);
    expect(problems).toContain('test names VM "prod/ghost", which is not in the folder');
  });

  it('tests VirtualMachineServices against the service rules, and reports a missing one', async () => {
    const dir = join(scratch, 'services');
    cpSync(LIBRARY, dir, { recursive: true });
    const t = join(dir, 'network-fixtures.yaml');
    writeFileSync(
      t,
      `${readFileSync(t, 'utf8').replace('resources: [dev/internal-db], result: pass', 'resources: [dev/internal-db], result: fail')}  - {policy: load-balancers-only-in-production, rule: allowedServiceTypes, kind: VirtualMachineService, resources: [dev/ghost], result: pass}\n`,
    );
    const { rows, problems } = await runPolicyTests(await loadWorld(engine, [dir]));
    expect(problems).toEqual([
      'test names VirtualMachineService "dev/ghost", which is not in the folder',
    ]);
    expect(rows.filter((r) => !r.ok)).toEqual([
      expect.objectContaining({
        resource: 'VirtualMachineService/dev/internal-db',
        expected: 'fail',
        got: 'pass',
      }),
    ]);
    const lb = rows.find((r) => r.resource === 'VirtualMachineService/dev/public-web');
    expect(lb?.message).toBe(
      'spec.type: "LoadBalancer" is not allowed in namespace dev (it would expose 80/TCP); allowed: ClusterIP',
    );
  });
});

describe('vmplane policy eval', () => {
  it("prints each rule's result and message, and exits 1 on a violation", async () => {
    const vm = join(scratch, 'vm.yaml');
    writeFileSync(
      vm,
      'apiVersion: vmplane.io/v1alpha1\nkind: VirtualMachine\nmetadata: {name: try-me}\nspec: {className: best-effort-small, image: {name: ubuntu-24.04}}\n',
    );
    const r = await cli([
      'policy',
      'eval',
      '-f',
      vm,
      '--policies',
      'examples/policies',
      '-n',
      'shop',
      '--namespace-labels',
      'vmplane.io/tier=production',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('shop/try-me:');
    expect(r.stdout).toMatch(
      /production-guaranteed-only\s+allowedClasses\s+fail\s+Deny,Audit\s+class "best-effort-small" is BestEffort; only Guaranteed classes are allowed/,
    );
    expect(r.stdout).toMatch(
      /owner-label-required\s+requiredLabels\s+warn\s+Warn,Audit\s+label vmplane.io\/owner is required/,
    );
    expect(r.stdout).toMatch(/approved-images-only\s+allowedImages\s+pass/);
  });

  it('says what is wrong with a bad --namespace-labels', async () => {
    const r = await cli([
      'policy',
      'eval',
      '-f',
      'examples/50-vms.yaml',
      '--policies',
      'examples/policies',
      '--namespace-labels',
      'tier',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--namespace-labels: "tier" is not KEY=VALUE');
  });
});
