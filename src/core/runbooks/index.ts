export {
  approvalPermission,
  autoRunPermission,
  autoRunWindowMs,
  needsApproval,
  runPermission,
  type Permission,
  type RunbookActor,
} from './access.js'
export {
  filterRunbooks,
  runbookAnswersAlert,
  unknownRunbookEntities,
  type RunbookFilter,
} from './match.js'
export {
  frontMatterSchema,
  isAutomaticStep,
  parameterNameProblem,
  roleAtLeast,
  runbookRoles,
  type ChecklistStep,
  type CommandStep,
  type DecisionStep,
  type HttpStep,
  type LinkStep,
  type Runbook,
  type RunbookFrontMatter,
  type RunbookParameter,
  type RunbookRole,
  type RunbookStep,
  type StepKind,
} from './model.js'
export {
  resolveParameters,
  type ParameterValues,
  type ResolveParametersResult,
} from './parameters.js'
export {
  parseRunbook,
  type ParseRunbookResult,
  type ParseYaml,
  type RunbookIssue,
} from './parse-runbook.js'
export { parameterEnvironment, planRun, shellPath, type PlannedStep, type RunPlan } from './plan.js'
export { renderHttpRequest, type HttpRequestPlan, type RenderHttpResult } from './render-http.js'
export {
  applyRunEvent,
  findAnswer,
  isFinished,
  maxStepsPerRun,
  runStatuses,
  startRun,
  type ResumePoint,
  type RunEvent,
  type RunState,
  type RunStatus,
  type RunTransition,
  type StepOutcome,
} from './run.js'
export {
  redactedValue,
  redactParameters,
  redactSecrets,
  secretParameterNames,
  secretRedactor,
  secretValues,
  type SecretRedactor,
} from './secrets.js'
export { endTarget, stepGraphIssues, stepSuccessors } from './step-graph.js'
