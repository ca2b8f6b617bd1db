// The policy package: one engine for the validating webhook, the background audit and the offline
// CLI. types → rules (built-in) and validations (CEL, in the Kubernetes CEL engine: kcel.ts in
// this thread, cel-workers.ts in worker threads) → compile → match and exceptions → evaluate;
// context builds what a rule looks at.
export * from './types.ts';
export { builtinRules, type Rules } from './rules.ts';
export { celInputs, compileCelRules, type CelProblems } from './validations.ts';
export { KubernetesCel, type CelEvaluator, type CelLimits } from './kcel.ts';
export {
  CEL_DIR_ENV,
  CelWorkers,
  openCelEngine,
  type CelEvaluatorSource,
  type CelWorkersOptions,
} from './cel-workers.ts';
export { celSchemas } from './schemas.ts';
export { compilePolicy, PolicyCompiler } from './compile.ts';
export { checksDeletes, policyMatches } from './match.ts';
export { exceptionApplies } from './exceptions.ts';
export {
  admissionVerdict,
  DEFAULT_CEL_TIME_BUDGET_MS,
  evaluatePolicies,
  type AdmissionVerdict,
  nativeRulesInForce,
  type EvaluateOptions,
} from './evaluate.ts';
export { buildContext, buildServiceContext } from './context.ts';
export {
  allowedServiceTypes,
  SERVICE_RULES,
  serviceType,
  type ServiceRule,
} from './service-rules.ts';
export { celRuleName } from './names.ts';
export {
  NATIVE_MANAGED_BY,
  NATIVE_POLICY_ANNOTATION,
  nativeName,
  nativePlan,
  nextExceptionExpiry,
  type NativeOptions,
  type NativePlan,
} from './native/plan.ts';
