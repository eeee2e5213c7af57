import { createHash } from 'node:crypto'
import { CompiledQuery, sql } from 'kysely'
import type { NotificationMessage } from '../channels/channel.js'
import { alertForTransition, type AlertEvent } from '../core/alerts/index.js'
import {
  applyCheckOutcome,
  type CheckOutcome,
  type MonitorRuntime,
  type MonitorState,
  type StatePolicy,
  type StateTransition,
} from '../core/checks/index.js'
import { incidentLinkGrant, type AckLinkSettings } from '../services/ack-links.js'
import { upsertAlertByFingerprint } from '../store/alerts.js'
import { dialectOf, type Db, type Executor } from '../store/dialect.js'
import { currentIncidentOfAlert } from '../store/incidents.js'
import { enqueueNotifications } from '../store/notifications.js'
import { insertResults, insertStateChange } from '../store/results.js'
import type { MonitorRow } from '../store/schema.js'
import { updateIncidentForAlert } from './incidents.js'
import { groupUnderRootCause, mergeDependentIncidents } from './dependencies.js'
import { applyNoiseControl, NoiseScope } from './noise.js'

/** The monitor facts the recorder needs to label alerts and route notifications. */
export interface RecordedMonitor {
  id: number
  slug: string
  type: string
  name?: string
  severity: string
  labels: Record<string, string>
  /** Channels this monitor notifies; undefined means the configured defaults. */
  channels?: readonly string[]
  policy: StatePolicy
}

/** One observation waiting to be written. */
export interface PendingOutcome {
  monitor: RecordedMonitor
  outcome: CheckOutcome
  checkedAt: number
  nextDueAt: number
}

/** What writing a batch changed, for metrics, the live stream and tests. */
export interface RecordedTransition {
  monitor: RecordedMonitor
  transition: StateTransition
  alert?: AlertEvent
  notified: string[]
}

/** Options of `recordOutcomes`. */
export interface RecordOutcomesOptions {
  /** Channels a monitor notifies when it names none. */
  defaultChannels: readonly string[]
  /** Keel's public URL, for links in notifications. */
  publicUrl?: string
  /** Adds signed acknowledge/resolve links for the alert's open incident when set. */
  links?: AckLinkSettings
  now: number
}

function runtimeFromRow(
  row: Pick<
    MonitorRow,
    | 'state'
    | 'state_since'
    | 'consecutive_failures'
    | 'consecutive_successes'
    | 'history'
    | 'flapping'
  >,
): MonitorRuntime {
  return {
    state: row.state as MonitorState,
    since: row.state_since,
    consecutiveFailures: row.consecutive_failures,
    consecutiveSuccesses: row.consecutive_successes,
    history: row.history,
    flapping: row.flapping === 1,
  }
}

const runtimeUpdates = new Map<string, string>()

/**
 * The runtime UPDATE runs once per check; compiling it through the query builder each time costs
 * more than executing it, so its SQL is compiled once per dialect and reused with new values.
 */
function runtimeUpdateSql(trx: Executor): string {
  const dialect = dialectOf(trx)
  let text = runtimeUpdates.get(dialect)
  if (text === undefined) {
    text = trx
      .updateTable('monitors')
      .set({
        state: '',
        state_since: 0,
        consecutive_failures: 0,
        consecutive_successes: 0,
        history: '',
        flapping: 0,
        last_checked_at: 0,
        last_status: '',
        last_latency_ms: 0,
        last_message: '',
        next_due_at: 0,
      })
      .where('id', '=', 0)
      .compile().sql
    runtimeUpdates.set(dialect, text)
  }
  return text
}

/** A stable id for one notification, so re-queuing the same event is a no-op. */
export function notificationId(
  fingerprint: string,
  at: number,
  status: string,
  channel: string,
): string {
  return createHash('sha256')
    .update(`${fingerprint}|${at}|${status}|${channel}`)
    .digest('hex')
    .slice(0, 32)
}

/** Builds the message every channel renders for an alert event. */
export function messageForAlert(
  event: AlertEvent,
  channel: string,
  publicUrl: string | undefined,
): NotificationMessage {
  const monitor = event.labels.monitor
  return {
    id: notificationId(event.fingerprint, event.at, event.status, channel),
    status: event.status,
    severity: event.labels.severity ?? 'critical',
    title: event.annotations.summary ?? event.labels.alertname ?? 'alert',
    text: event.annotations.description ?? '',
    fingerprint: event.fingerprint,
    labels: event.labels,
    annotations: event.annotations,
    at: event.at,
    ...(publicUrl && monitor
      ? { url: `${publicUrl.replace(/\/$/, '')}/monitors/${encodeURIComponent(monitor)}` }
      : {}),
  }
}

/**
 * Writes a batch of check outcomes in one transaction: raw results, each monitor's runtime after
 * the state machine, state changes, alerts and the notifications they cause. The runtime is read
 * inside the transaction (locked on PostgreSQL), so heartbeat pings arriving through the API and
 * checks run by the scheduler never overwrite each other's state. Outcomes for monitors that no
 * longer exist are dropped.
 */
export async function recordOutcomes(
  db: Db,
  batch: readonly PendingOutcome[],
  options: RecordOutcomesOptions,
): Promise<RecordedTransition[]> {
  if (batch.length === 0) return []
  return db.transaction().execute((trx) => applyOutcomes(trx, batch, options))
}

/** `recordOutcomes` inside a transaction the caller already holds. */
export async function applyOutcomes(
  trx: Executor,
  batch: readonly PendingOutcome[],
  options: RecordOutcomesOptions,
): Promise<RecordedTransition[]> {
  const ids = [...new Set(batch.map((p) => p.monitor.id))]
  const runtimes = new Map<number, MonitorRuntime>()
  for (let i = 0; i < ids.length; i += 500) {
    let query = trx
      .selectFrom('monitors')
      .select([
        'id',
        'state',
        'state_since',
        'consecutive_failures',
        'consecutive_successes',
        'history',
        'flapping',
      ])
      .where('id', 'in', ids.slice(i, i + 500))
    if (dialectOf(trx) === 'postgres') query = query.modifyEnd(sql`for update`)
    for (const row of await query.execute()) runtimes.set(row.id, runtimeFromRow(row))
  }

  const kept = batch.filter((p) => runtimes.has(p.monitor.id))
  await insertResults(
    trx,
    kept.map((p) => ({ monitorId: p.monitor.id, checkedAt: p.checkedAt, ...p.outcome })),
  )

  const transitions: RecordedTransition[] = []
  const last = new Map<number, PendingOutcome>()
  for (const pending of kept) {
    const before = runtimes.get(pending.monitor.id) as MonitorRuntime
    const decision = applyCheckOutcome(
      before,
      pending.outcome,
      pending.monitor.policy,
      pending.checkedAt,
    )
    runtimes.set(pending.monitor.id, decision.runtime)
    last.set(pending.monitor.id, pending)
    if (decision.transition) {
      transitions.push(await recordTransition(trx, pending.monitor, decision.transition, options))
    }
  }

  for (const [id, pending] of last) {
    const runtime = runtimes.get(id) as MonitorRuntime
    await trx.executeQuery(
      CompiledQuery.raw(runtimeUpdateSql(trx), [
        runtime.state,
        runtime.since,
        runtime.consecutiveFailures,
        runtime.consecutiveSuccesses,
        runtime.history,
        runtime.flapping ? 1 : 0,
        pending.checkedAt,
        pending.outcome.status,
        pending.outcome.latencyMs,
        pending.outcome.message.slice(0, 1000),
        pending.nextDueAt,
        id,
      ]),
    )
  }
  return transitions
}

/** Records a transition's history row, alert and notifications inside `trx`. */
export async function recordTransition(
  trx: Executor,
  monitor: RecordedMonitor,
  transition: StateTransition,
  options: RecordOutcomesOptions,
): Promise<RecordedTransition> {
  await insertStateChange(trx, {
    monitorId: monitor.id,
    at: transition.at,
    from: transition.from,
    to: transition.to,
    message: transition.message,
    flapping: transition.flapping,
  })
  const alert = alertForTransition(
    {
      id: monitor.slug,
      type: monitor.type,
      severity: monitor.severity,
      labels: monitor.labels,
      ...(monitor.name ? { name: monitor.name } : {}),
    },
    transition,
  )
  if (!alert) return { monitor, transition, notified: [] }
  const { alert: stored, change } = await upsertAlertByFingerprint(trx, alert)
  const scope = new NoiseScope(trx, options.now)
  const noise = stored ? await applyNoiseControl(trx, scope, stored, change) : {}
  // While a monitor flaps, only the start and end of flapping are worth a page.
  const flapQuiet = transition.flapping && !transition.flappingChanged
  // A silenced or maintained monitor pages for neither its failure nor the recovery nobody heard
  // of; its recovery still resolves an incident it was part of before it was muted.
  const muted = noise.suppressedBy !== undefined
  // The same incident grouping external alerts get (alert-pipeline.ts); quiet flaps leave it be.
  const grouped =
    !flapQuiet && !muted && stored
      ? await groupUnderRootCause(trx, scope, stored, change)
      : undefined
  const incident =
    !grouped && !flapQuiet && !(muted && alert.status === 'firing')
      ? await updateIncidentForAlert(
          trx,
          { event: alert, change, ...(stored ? { alert: stored } : {}) },
          options,
        )
      : grouped
  if (incident && stored) await mergeDependentIncidents(trx, scope, stored, change, incident)
  if (change === 'unchanged' || flapQuiet || muted) {
    return { monitor, transition, alert, notified: [] }
  }
  const channels = monitor.channels ?? options.defaultChannels
  const { links } = options
  const linked =
    links && stored && channels.length > 0
      ? await currentIncidentOfAlert(trx, stored.id)
      : undefined
  await enqueueNotifications(
    trx,
    channels.map((channelSlug) => {
      // Nobody in particular is paged in a channel: the action is recorded as the channel's.
      const linkGrant =
        links && linked ? incidentLinkGrant(linked, `channel:${channelSlug}`) : undefined
      return {
        channelSlug,
        message: messageForAlert(alert, channelSlug, options.publicUrl),
        ...(linkGrant ? { linkGrant } : {}),
      }
    }),
    options.now,
  )
  return { monitor, transition, alert, notified: [...channels] }
}
