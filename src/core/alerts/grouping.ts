import type { Instant } from '../time.js'
import type { Labels } from './fingerprint.js'
import { goQuote } from './go-quote.js'
import type { RouteMatch } from './routing.js'

/**
 * The labels that name an alert's aggregation group on a route: its values for the route's
 * `groupBy` labels, or all its labels with `groupBy: ['...']`. Labels it lacks are left out.
 */
export function groupLabels(
  route: Pick<RouteMatch, 'groupBy' | 'groupByAll'>,
  labels: Labels,
): Labels {
  const picked: Labels = {}
  for (const [name, value] of Object.entries(labels)) {
    // Alertmanager has no empty label values; an empty one is an absent label (see fingerprint).
    if (value !== '' && (route.groupByAll || route.groupBy.includes(name))) picked[name] = value
  }
  return picked
}

/**
 * The key of an alert's aggregation group, in Alertmanager's format (`route:{a="1", b="2"}`),
 * but with the route's ID in place of its key: Alertmanager keeps groups per route, and two
 * sibling routes with equal matchers (the `continue: true` fan-out) share a key, not an ID.
 */
export function groupKey(
  route: Pick<RouteMatch, 'id' | 'groupBy' | 'groupByAll'>,
  labels: Labels,
): string {
  const picked = groupLabels(route, labels)
  const pairs = Object.keys(picked)
    .sort()
    .map((name) => `${name}=${goQuote(picked[name] as string)}`)
  return `${route.id}:{${pairs.join(', ')}}`
}

/** The three timers of an aggregation group, in milliseconds, as a `RouteMatch` carries them. */
export interface GroupTiming {
  groupWait: number
  groupInterval: number
  repeatInterval: number
}

/** One alert in an aggregation group. */
export interface GroupAlert {
  fingerprint: string
  startsAt: Instant
  /** When the alert resolved (or will); it counts as resolved from this instant on. */
  endsAt?: Instant
  /** Silenced, inhibited or in maintenance: left out of notifications, as Alertmanager does. */
  muted?: boolean
}

/** What the group's last notification said, Alertmanager's notification-log entry. */
export interface GroupNotificationLog {
  at: Instant
  firing: readonly string[]
  resolved: readonly string[]
}

/**
 * An aggregation group between flushes. `flushAt` is its timer: group_wait after the group
 * opened, then every group_interval after each flush.
 */
export interface GroupState {
  timing: GroupTiming
  /** Whether the receiver wants resolved notifications (Alertmanager's `send_resolved`). */
  sendResolved: boolean
  alerts: readonly GroupAlert[]
  flushAt: Instant
  lastNotification?: GroupNotificationLog
}

/** Why a flush notifies. */
export type GroupNotificationReason =
  'first' | 'new-firing' | 'resolved' | 'all-resolved' | 'repeat'

/** A notification to send for a group: the fingerprints it reports. */
export interface GroupNotification {
  reason: GroupNotificationReason
  firing: string[]
  resolved: string[]
}

/** When the group flushes next and, if that is now, what it sends. */
export interface GroupNotificationPlan {
  /** When the group's timer fires; at or before `now` means a flush is due. */
  flushAt: Instant
  due: boolean
  /** What to send now; set only when a flush is due and has something to deliver. */
  notification?: GroupNotification
  /** When the next notification goes out if no alert changes; undefined when none will. */
  notifyAt?: Instant
}

/** Conditions of one flush that the group itself does not know. */
export interface GroupFlushOptions {
  /** The route is muted now by its mute or active time intervals: nothing is sent or logged. */
  muted?: boolean
}

/**
 * A new aggregation group for its first alert. It waits group_wait before the first
 * notification, unless the alert is older than that already, as in Alertmanager.
 */
export function openGroup(
  timing: GroupTiming,
  alert: GroupAlert,
  now: Instant,
  sendResolved = true,
): GroupState {
  const wait = alert.startsAt + timing.groupWait < now ? 0 : timing.groupWait
  return { timing, sendResolved, alerts: [alert], flushAt: now + wait }
}

/** The group with this alert added, or replacing the one with its fingerprint. */
export function upsertGroupAlert(group: GroupState, alert: GroupAlert): GroupState {
  const others = group.alerts.filter((a) => a.fingerprint !== alert.fingerprint)
  return { ...group, alerts: [...others, alert] }
}

function isResolvedAt(alert: GroupAlert, at: Instant): boolean {
  return alert.endsAt !== undefined && alert.endsAt <= at
}

function isSubset(items: readonly string[], of: readonly string[]): boolean {
  const set = new Set(of)
  return items.every((item) => set.has(item))
}

interface Decision {
  /** Whether Alertmanager's dedup stage lets the flush through (and logs it). */
  reason?: GroupNotificationReason
  firing: string[]
  resolved: string[]
}

// Alertmanager's DedupStage.needsUpdate, over the alerts the mute stage lets through.
function decide(group: GroupState, at: Instant, options: GroupFlushOptions): Decision {
  const visible = group.alerts.filter((a) => !a.muted)
  const firing = visible.filter((a) => !isResolvedAt(a, at)).map((a) => a.fingerprint)
  const resolved = visible.filter((a) => isResolvedAt(a, at)).map((a) => a.fingerprint)
  const decision = (reason?: GroupNotificationReason): Decision => ({
    ...(reason ? { reason } : {}),
    firing,
    resolved,
  })
  if (options.muted) return decision()
  const last = group.lastNotification
  if (!last) return decision(firing.length > 0 ? 'first' : undefined)
  if (!isSubset(firing, last.firing)) return decision('new-firing')
  // Alerts that fired and resolved between two flushes were never reported, so need no news.
  if (firing.length === 0) return decision(last.firing.length > 0 ? 'all-resolved' : undefined)
  if (group.sendResolved && !isSubset(resolved, last.resolved)) return decision('resolved')
  // Strictly after: a repeat falls on the first flush *past* repeat_interval.
  return decision(last.at < at - group.timing.repeatInterval ? 'repeat' : undefined)
}

function deliverable(group: GroupState, decision: Decision): GroupNotification | undefined {
  if (decision.reason === undefined) return undefined
  const resolved = group.sendResolved ? decision.resolved : []
  // Without send_resolved an all-resolved flush is only logged, as Alertmanager's retry stage does.
  if (decision.firing.length === 0 && resolved.length === 0) return undefined
  return { reason: decision.reason, firing: decision.firing, resolved }
}

function applyFlush(group: GroupState, at: Instant, decision: Decision): GroupState | undefined {
  // Resolved alerts leave the group once a flush has gone through, sent or deduplicated.
  const alerts = group.alerts.filter((a) => !isResolvedAt(a, at))
  if (alerts.length === 0) return undefined
  const logged = decision.reason
    ? { lastNotification: { at, firing: decision.firing, resolved: decision.resolved } }
    : {}
  return { ...group, ...logged, alerts, flushAt: at + group.timing.groupInterval }
}

function predictNotification(group: GroupState, from: Instant): Instant | undefined {
  let state: GroupState | undefined = group
  let at = from
  const interval = group.timing.groupInterval
  // Each round either notifies, empties the group, or passes one alert's end or the repeat
  // deadline, so the rounds are bounded by the alerts.
  for (let round = 0; round <= group.alerts.length * 2 + 2; round++) {
    const decision = decide(state, at, {})
    if (deliverable(state, decision)) return at
    state = applyFlush(state, at, decision)
    if (!state) return undefined
    const ticksUntil: number[] = state.alerts
      .filter((a) => a.endsAt !== undefined && a.endsAt > at)
      .map((a) => Math.max(1, Math.ceil(((a.endsAt as number) - at) / interval)))
    const last = state.lastNotification
    if (last && decision.firing.length > 0) {
      const deadline = last.at + state.timing.repeatInterval
      ticksUntil.push(Math.max(1, Math.floor((deadline - at) / interval) + 1))
    }
    if (ticksUntil.length === 0) return undefined
    at += Math.min(...ticksUntil) * interval
  }
  return undefined
}

/**
 * Alertmanager's decision for an aggregation group at `now`: whether its timer is due, what
 * that flush sends (first notification after group_wait, changes batched per group_interval,
 * an unchanged firing group again once repeat_interval has passed), and when the next
 * notification will go out if nothing changes.
 */
export function planGroupNotification(
  group: GroupState,
  now: Instant,
  options: GroupFlushOptions = {},
): GroupNotificationPlan {
  const due = group.flushAt <= now
  if (!due) {
    const notifyAt = predictNotification(group, group.flushAt)
    return { flushAt: group.flushAt, due, ...(notifyAt === undefined ? {} : { notifyAt }) }
  }
  const decision = decide(group, now, options)
  const notification = deliverable(group, decision)
  const after = notification ? undefined : applyFlush(group, now, decision)
  const notifyAt = notification ? now : after && predictNotification(after, after.flushAt)
  return {
    flushAt: group.flushAt,
    due,
    ...(notification ? { notification } : {}),
    ...(notifyAt === undefined ? {} : { notifyAt }),
  }
}

/**
 * The group after the flush due at `now`: the notification logged, resolved alerts dropped,
 * the timer set one group_interval ahead. Undefined once no alerts are left, which closes
 * the group; a group not yet due comes back unchanged.
 */
export function recordGroupFlush(
  group: GroupState,
  now: Instant,
  options: GroupFlushOptions = {},
): GroupState | undefined {
  if (group.flushAt > now) return group
  return applyFlush(group, now, decide(group, now, options))
}
