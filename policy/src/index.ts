// The policy package: one engine for the validating webhook, the background audit, the offline
// CLI and the plugin's preview. types → rules (built-in) and validations (CEL, on cel.ts) →
// compile → match and exceptions → evaluate; context builds what a rule looks at.
export * from './types.ts';
export { builtinRules, type Rules } from './rules.ts';
export { celRules } from './validations.ts';
export {
  CEL_VARIABLES,
  celRuntimeError,
  compileCel,
  type CelProgram,
  type Compiled,
} from './cel.ts';
export { compilePolicy, PolicyCompiler } from './compile.ts';
export { checksDeletes, policyMatches } from './match.ts';
export { exceptionApplies } from './exceptions.ts';
export {
  admissionVerdict,
  evaluatePolicies,
  type AdmissionVerdict,
  type EvaluateOptions,
} from './evaluate.ts';
export { buildContext } from './context.ts';
export { celRuleName } from './names.ts';
