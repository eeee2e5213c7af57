export type { CheckOutcome, CheckResult, CheckStatus, Metric, MonitorState } from './types.js'
export {
  applyCheckOutcome,
  defaultStatePolicy,
  initialRuntime,
  setPaused,
  type MonitorRuntime,
  type StateDecision,
  type StatePolicy,
  type StateTransition,
} from './monitor-state.js'
export {
  durationField,
  labelsSchema,
  monitorCommonShape,
  monitorIdSchema,
  type MonitorCommon,
} from './monitor-spec.js'
export { mergeRollups, summarizeResults, uptimeRatio, type RollupStats } from './rollup.js'
export {
  conditionPlaceholders,
  evaluateConditions,
  parseCondition,
  type Condition,
  type ConditionContext,
  type ConditionOperand,
  type ConditionOperator,
  type ConditionsVerdict,
  type ParseConditionResult,
  type Placeholder,
  type PlaceholderOperand,
} from './conditions.js'
export {
  exitCodeState,
  exitCodeStatus,
  parsePerfdata,
  parsePluginOutput,
  type PerfdataResult,
  type PluginOutput,
  type PluginState,
} from './perfdata.js'
