/** The states a monitor can be in, worst first. */
export const monitorStates = ['down', 'degraded', 'pending', 'up', 'paused'] as const

/** One monitor state. */
export type MonitorState = (typeof monitorStates)[number]

/** A monitor as `GET /api/v1/monitors` returns it (src/services/monitors.ts, MonitorView). */
export interface MonitorView {
  id: string
  type: string
  name?: string
  state: MonitorState
  stateSince: number
  flapping: boolean
  paused: boolean
  lastCheckedAt?: number
  lastStatus?: 'up' | 'down' | 'degraded'
  lastLatencyMs?: number
  lastMessage?: string
  nextDueAt?: number
  source: string
  managedByConfig: boolean
  spec: Record<string, unknown>
  pingPath?: string
  createdAt: number
  updatedAt: number
  version: number
  /** Recent uptime; only in the list read with `uptime=true`, never in stream events. */
  uptime?: RecentUptime
  /** What makes it down or degraded; only in the single-monitor read. */
  rules?: MonitorRules
}

/** One requirement of each check, in words (src/checks/registry.ts, MonitorRules). */
export interface MonitorExpectation {
  text: string
  otherwise: 'down' | 'degraded'
  /** `condition`: one of the spec's `conditions`, as written. */
  source: 'probe' | 'condition'
}

/** What decides a monitor's state. */
export interface MonitorRules {
  expectations: MonitorExpectation[]
  /** Failing checks in a row before it is down or degraded. */
  downAfter: number
  /** Passing checks in a row before it is up again. */
  upAfter: number
}

/** A runbook listed for a monitor (`GET /api/v1/runbooks?monitor=`), with why it matches. */
export interface MonitorRunbook {
  name: string
  title: string
  description?: string
  matchedBy: ('alert' | 'entity' | 'monitor')[]
}

/** Checks and failures of one hour; `count` 0 means no check ran. */
export interface UptimeHour {
  start: number
  count: number
  failures: number
}

/** A monitor's uptime (share of checks not down) over the last 24 hours and 30 days. */
export interface RecentUptime {
  /** The 24 hours up to now, oldest first. */
  hours: UptimeHour[]
  last24h?: number
  last30d?: number
}

/** One raw check result. */
export interface CheckResult {
  checkedAt: number
  status: 'up' | 'down' | 'degraded'
  latencyMs: number
  message: string
}

/** One confirmed state change. */
export interface StateChange {
  at: number
  from: string
  to: string
  message: string
  flapping: boolean
}

/** One roll-up bucket. */
export interface Rollup {
  resolution: 'm' | 'h' | 'd'
  bucketStart: number
  count: number
  failures: number
  degraded: number
  latencySum: number
  latencyP50: number
  latencyP95: number
  latencyMax: number
}

/** What a probe observed on "check now" (not recorded). */
export interface CheckNowOutcome {
  monitor: string
  checkedAt: number
  status: 'up' | 'down' | 'degraded'
  latencyMs: number
  message: string
}

/** Roles, weakest first. */
export const roles = ['viewer', 'responder', 'operator', 'admin'] as const

/** One role. */
export type Role = (typeof roles)[number]

/** Who the browser session acts as. */
export interface Session {
  name: string
  role: Role
  expiresAt?: number
}

/** True when `role` may do what `needed` may. */
export function roleAllows(role: Role, needed: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(needed)
}

/** A page of a list response. */
export interface Page<T> {
  items: T[]
  next?: string
}
