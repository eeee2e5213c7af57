import type { Instant } from '../time.js'

/** What one run of a probe observed. */
export type CheckStatus = 'up' | 'down' | 'degraded'

/** The confirmed state of a monitor, as operators and alerts see it. */
export type MonitorState = 'pending' | 'up' | 'down' | 'degraded' | 'paused'

/** One performance value, as Nagios perfdata carries it (`'label'=value[UOM];warn;crit;min;max`). */
export interface Metric {
  label: string
  value: number
  unit?: string
  warn?: string
  crit?: string
  min?: number
  max?: number
}

/** What a probe returns: an expected outcome is a value, never a throw. */
export interface CheckOutcome {
  status: CheckStatus
  latencyMs: number
  message: string
  metrics?: Metric[]
}

/** A check outcome recorded for one monitor at one instant. */
export interface CheckResult extends CheckOutcome {
  monitorId: string
  checkedAt: Instant
}
