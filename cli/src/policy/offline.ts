// Offline policy tools for policy teams: run a folder of policies against VMs without a cluster,
// with the same engine the webhook and the audit use. VMs are first defaulted by the same mutation
// the webhook applies, so what is tested is what admission would see.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { V1Namespace } from '@kubernetes/client-node';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { ObjectValidator } from '../../../api/src/validate.ts';
import { mutateVirtualMachine } from '../../../decisions/src/vm.ts';
import { staticLookups, type LookupData, type Lookups } from '../../../kube/src/lookups.ts';
import {
  buildContext,
  buildServiceContext,
  compileCelRules,
  compilePolicy,
  evaluatePolicies,
  nativePlan,
  type CelEvaluator,
  type CompiledPolicy,
  type Result,
  type RuleResult,
  type SubjectKind,
  type VirtualMachineServiceLike,
} from '../../../policy/src/index.ts';
import { loadManifestDir, type Manifest } from '../../../kube/src/manifests.ts';
import { API_VERSION } from '../../../api/src/wellknown.ts';

export interface TestEntry {
  policy: string;
  rule: string;
  /** What resources names (NAMESPACE/NAME): VMs unless it says VirtualMachineService. */
  kind?: SubjectKind;
  resources: string[];
  result: Result;
}

/** Where each kind goes in the lookup data. */
const KIND_LISTS: Record<string, keyof LookupData> = {
  Namespace: 'namespaces',
  VirtualMachineClass: 'classes',
  VirtualMachineImage: 'images',
  ClusterVirtualMachineImage: 'clusterImages',
  StorageClass: 'storageClasses',
  StorageProfile: 'storageProfiles',
  VirtualMachineDisk: 'disks',
  VirtualMachine: 'vms',
  VirtualMachinePolicy: 'policies',
  VirtualMachinePolicyException: 'exceptions',
};

export interface World {
  engine: CelEvaluator;
  lookups: Lookups;
  data: LookupData;
  /** VirtualMachineServices, for the policies' service rules (allowedServiceTypes). */
  services: VirtualMachineServiceLike[];
  compiled: CompiledPolicy[];
  tests: TestEntry[];
  /** Problems found while loading (invalid objects, CEL admission would refuse). */
  problems: string[];
  /** CEL that fails the type check against the schemas (admission warns). */
  warnings: string[];
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (e.endsWith('.yaml') || e.endsWith('.yml')) out.push(p);
  }
  return out;
}

function emptyData(): Required<LookupData> {
  return {
    namespaces: [],
    classes: [],
    images: [],
    clusterImages: [],
    storageClasses: [],
    storageProfiles: [],
    disks: [],
    vms: [],
    policies: [],
    exceptions: [],
  };
}

/** Every manifest in the given files and folders, with the file it came from. */
function readManifests(paths: string[]): { file: string; object: Manifest }[] {
  const manifests: { file: string; object: Manifest }[] = [];
  for (const p of paths) {
    const files = statSync(p).isDirectory() ? yamlFiles(p) : [p];
    for (const f of files) {
      const dir = f.slice(0, f.lastIndexOf('/')) || '.';
      for (const m of loadManifestDir(dir).filter((x) => join(dir, x.file) === f))
        manifests.push({ file: relative(process.cwd(), f) || f, object: m.object });
    }
  }
  return manifests;
}

/** Namespaces named by VMs but not declared get their name label (and any labels given). */
function completeNamespaces(
  data: Required<LookupData>,
  namespaceLabels: Record<string, Record<string, string>> = {},
): void {
  const declared = new Set(data.namespaces.map((n) => n.metadata?.name));
  const wanted = new Set([
    ...data.vms.map((v) => v.metadata.namespace ?? 'default'),
    ...Object.keys(namespaceLabels),
  ]);
  for (const name of wanted) {
    const extra = namespaceLabels[name] ?? {};
    const existing = data.namespaces.find((n) => n.metadata?.name === name);
    if (existing)
      existing.metadata = {
        ...existing.metadata,
        labels: { ...existing.metadata?.labels, ...extra },
      };
    else if (!declared.has(name))
      data.namespaces.push({ metadata: { name, labels: { ...extra } } } as V1Namespace);
  }
  for (const n of data.namespaces)
    n.metadata = {
      ...n.metadata,
      labels: { 'kubernetes.io/metadata.name': n.metadata?.name ?? '', ...n.metadata?.labels },
    };
}

/** Loads every object of a folder (and its subfolders) into a world to evaluate in. */
export async function loadWorld(
  engine: CelEvaluator,
  paths: string[],
  opts: { namespaceLabels?: Record<string, Record<string, string>> } = {},
): Promise<World> {
  const validator = new ObjectValidator();
  const data = emptyData();
  const tests: TestEntry[] = [];
  const problems: string[] = [];
  const services: VirtualMachineServiceLike[] = [];
  for (const { file, object } of readManifests(paths)) {
    const v =
      object.apiVersion === API_VERSION ? validator.validate(object) : { valid: true, errors: [] };
    if (!v.valid) {
      problems.push(`${file}: ${object.kind}/${object.metadata.name}: ${v.errors.join('; ')}`);
    } else if (object.kind === 'VirtualMachineService') {
      services.push(object as unknown as VirtualMachineServiceLike);
    } else if (object.kind === 'PolicyTest') {
      tests.push(...((object as unknown as { results?: TestEntry[] }).results ?? []));
    } else {
      // Secrets and other kinds play no part in policy decisions.
      const list = KIND_LISTS[object.kind];
      if (list) (data[list] as unknown[]).push(object);
    }
  }
  completeNamespaces(data, opts.namespaceLabels);
  const compiled = await Promise.all(data.policies.map((p) => compilePolicy(engine, p)));
  // What admission would say about each policy: refusals are problems, type errors warnings.
  const warnings: string[] = [];
  for (const p of data.policies) {
    const checked = await compileCelRules(engine, p, 'new');
    const name = `VirtualMachinePolicy/${p.metadata.name}`;
    for (const e of checked.errors) problems.push(`${name}: ${e}`);
    for (const w of checked.warnings) warnings.push(`${name}: ${w}`);
  }
  return {
    engine,
    lookups: staticLookups(data),
    data,
    services,
    compiled,
    tests,
    problems,
    warnings,
  };
}

/** A VM as admission would see it: defaulted by the mutating webhook's decisions. */
export function admitted(vm: VirtualMachine, lookups: Lookups): VirtualMachine {
  const copy = structuredClone(vm);
  copy.metadata.namespace ??= 'default';
  const m = mutateVirtualMachine(copy, lookups);
  return m.denial ? copy : m.object;
}

/**
 * The time budget offline: the webhook's 30 ms bounds what one admission may hold up, but a test run
 * must give the same verdicts on a loaded machine (the first evaluation also compiles every
 * expression), so offline only a runaway expression is stopped. The cost budgets, which decide
 * the API server's verdicts, are the same as in admission.
 */
export const OFFLINE_CEL_TIME_BUDGET_MS = 5_000;

export function evaluateVm(vm: VirtualMachine, world: World): Promise<RuleResult[]> {
  const object = admitted(vm, world.lookups);
  const ctx = buildContext(
    { operation: 'CREATE', object, namespace: object.metadata.namespace ?? 'default' },
    world.lookups,
  );
  return evaluatePolicies(
    world.engine,
    world.compiled,
    world.lookups.exceptions(object.metadata.namespace),
    ctx,
    { includeSkips: true, celTimeBudgetMs: OFFLINE_CEL_TIME_BUDGET_MS },
  );
}

/** A VirtualMachineService as admission sees it on CREATE, against the folder's policies. */
export function evaluateService(
  svc: VirtualMachineServiceLike,
  world: World,
): Promise<RuleResult[]> {
  const namespace = svc.metadata.namespace ?? 'default';
  const ctx = buildServiceContext({ operation: 'CREATE', object: svc, namespace }, world.lookups);
  return evaluatePolicies(world.engine, world.compiled, world.lookups.exceptions(namespace), ctx, {
    includeSkips: true,
    celTimeBudgetMs: OFFLINE_CEL_TIME_BUDGET_MS,
  });
}

/** The results for the object a test names (NAMESPACE/NAME of its kind), or why there are none. */
function evaluateNamed(
  world: World,
  kind: SubjectKind,
  ns: string,
  name: string,
): Promise<RuleResult[]> | undefined {
  const named = (m: { namespace?: string; name?: string }): boolean =>
    (m.namespace ?? 'default') === ns && m.name === name;
  if (kind === 'VirtualMachineService') {
    const svc = world.services.find((s) => named(s.metadata));
    return svc ? evaluateService(svc, world) : undefined;
  }
  const vm = world.data.vms?.find((v) => named(v.metadata));
  return vm ? evaluateVm(vm, world) : undefined;
}

export interface Row {
  resource: string;
  policy: string;
  rule: string;
  expected: Result;
  got: Result | 'missing';
  ok: boolean;
  message: string;
}

export async function runPolicyTests(world: World): Promise<{ rows: Row[]; problems: string[] }> {
  const rows: Row[] = [];
  const problems = [...world.problems];
  if (world.tests.length === 0)
    problems.push(
      'no PolicyTest found: add a file with kind PolicyTest listing the expected results',
    );
  const cache = new Map<string, RuleResult[]>();
  for (const t of world.tests) {
    if (!world.compiled.some((p) => p.name === t.policy)) {
      problems.push(`test names policy "${t.policy}", which is not in the folder`);
      continue;
    }
    const kind = t.kind ?? 'VirtualMachine';
    for (const resource of t.resources) {
      const [ns = '', name = ''] = resource.includes('/')
        ? resource.split('/')
        : ['default', resource];
      const key = kind === 'VirtualMachine' ? resource : `${kind}/${resource}`;
      let results = cache.get(key);
      if (!results) {
        const pending = evaluateNamed(world, kind, ns, name);
        if (!pending) {
          const what = kind === 'VirtualMachine' ? 'VM' : kind;
          problems.push(`test names ${what} "${resource}", which is not in the folder`);
          continue;
        }
        results = await pending;
        cache.set(key, results);
      }
      const r = results.find((x) => x.policy === t.policy && x.rule === t.rule);
      const got: Result | 'missing' = r?.result ?? 'missing';
      rows.push({
        resource: key,
        policy: t.policy,
        rule: t.rule,
        expected: t.result,
        got,
        ok: got === t.result,
        message: r?.message ?? `policy "${t.policy}" has no rule "${t.rule}"`,
      });
    }
  }
  return { rows, problems };
}

/** A plain-text table, widths fitted to the content. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Where each rule of the folder's policies runs with native enforcement on, and why. */
export function whereRulesRun(
  world: World,
  now = new Date(),
): { policy: string; rule: string; runsIn: string }[] {
  return (world.data.policies ?? []).flatMap((p) => {
    const name = p.metadata.name ?? '';
    const plan = nativePlan(p, {
      exceptions: (world.data.exceptions ?? []).filter((e) => e.spec.policyName === name),
      ownNamespace: 'vmplane-system',
      now,
      celErrors: world.compiled.find((c) => c.name === name)?.errors ?? [],
    });
    return [
      ...plan.native.map((rule) => ({ policy: name, rule, runsIn: 'API server' })),
      ...plan.webhook.map((w) => ({ policy: name, rule: w.rule, runsIn: `webhook (${w.reason})` })),
    ];
  });
}
