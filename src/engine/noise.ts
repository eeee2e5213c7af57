import type { Logger } from 'pino'
import type { NotificationMessage } from '../channels/channel.js'
import {
  groupKey,
  groupLabels,
  isRouteMutedNow,
  matchRoutes,
  openGroup,
  planGroupNotification,
  receiversFor,
  recordGroupFlush,
  suppressionOf,
  suppressionText,
  upsertGroupAlert,
  type AlertingConfig,
  type GroupAlert,
  type GroupState,
  type SuppressionInputs,
} from '../core/alerts/index.js'
import type { Incident } from '../core/incidents/index.js'
import type { Clock } from '../core/time.js'
import { incidentLinkGrant, type AckLinkSettings } from '../services/ack-links.js'
import { loadSuppressionInputs, readAlertingConfig } from '../services/alerting.js'
import { getAlert, type Alert, type AlertChange } from '../store/alerts.js'
import type { Db, Executor } from '../store/dialect.js'
import {
  countFiringAlerts,
  currentIncidentOfAlert,
  appendTimeline,
  listIncidentAlerts,
} from '../store/incidents.js'
import {
  claimDueAlertGroups,
  deleteAlertGroup,
  getAlertGroup,
  listFiringAlertLabels,
  markSilenceExpiryNotified,
  nextAlertGroupDue,
  saveAlertGroup,
  setAlertSuppression,
  silencesDueForExpiryNotice,
} from '../store/noise.js'
import { enqueueNotifications } from '../store/notifications.js'
import { stopEscalation } from './escalator.js'
import { updateIncidentForAlert, type IncidentPolicy } from './incidents.js'
import { PassWorker } from './pass-loop.js'

/**
 * What noise control reads for one batch of alert events, loaded on first use: the alerting
 * configuration and the live silences, maintenance windows and inhibiting alerts.
 */
export class NoiseScope {
  private config: AlertingConfig | undefined
  private inputs: SuppressionInputs | undefined

  constructor(
    private readonly db: Executor,
    readonly now: number,
  ) {}

  /** The applied alerting configuration. */
  async alerting(): Promise<AlertingConfig> {
    this.config ??= await readAlertingConfig(this.db)
    return this.config
  }

  /** Silences, maintenance and inhibitors at `now`. */
  async suppressionInputs(): Promise<SuppressionInputs> {
    this.inputs ??= await loadSuppressionInputs(this.db, await this.alerting(), this.now)
    return this.inputs
  }
}

/** What noise control decided for one alert. */
export interface NoiseDecision {
  /** Why the firing alert is muted (`silence:<id>`, ...), or undefined when it pages. */
  suppressedBy?: string
}

/**
 * Noise control for one stored alert, in the caller's transaction: decides and stores whether a
 * firing alert is muted (silence, maintenance, inhibition), and puts the alert into the
 * aggregation group of every route it matches whose receiver has channels, so the group's
 * timer (group_wait, group_interval, repeat_interval) decides when they hear of it.
 */
export async function applyNoiseControl(
  trx: Executor,
  scope: NoiseScope,
  alert: Alert,
  change: AlertChange,
): Promise<NoiseDecision> {
  if (change === 'unchanged') {
    return alert.suppressedBy ? { suppressedBy: alert.suppressedBy } : {}
  }
  let suppressedBy: string | undefined
  if (alert.status === 'firing') {
    const suppression = suppressionOf(
      alert.fingerprint,
      alert.labels,
      await scope.suppressionInputs(),
      scope.now,
    )
    suppressedBy = suppression ? suppressionText(suppression) : undefined
    if ((alert.suppressedBy ?? undefined) !== suppressedBy) {
      await setAlertSuppression(trx, alert.fingerprint, suppressedBy ?? null)
    }
  } else suppressedBy = alert.suppressedBy
  await addToGroups(trx, await scope.alerting(), alert, suppressedBy !== undefined, scope.now)
  return suppressedBy ? { suppressedBy } : {}
}

async function addToGroups(
  trx: Executor,
  config: AlertingConfig,
  alert: Alert,
  muted: boolean,
  now: number,
): Promise<void> {
  for (const { match, receiverId, receiver } of receiversFor(config, alert.labels)) {
    if (receiver.channels.length === 0) continue
    const key = groupKey(match, alert.labels)
    const entry: GroupAlert = {
      fingerprint: alert.fingerprint,
      startsAt: alert.startsAt,
      ...(alert.status === 'resolved' ? { endsAt: alert.endsAt ?? now } : {}),
      ...(muted ? { muted: true } : {}),
    }
    const existing = await getAlertGroup<GroupState>(trx, key)
    if (!existing && alert.status === 'resolved') continue
    const state = existing
      ? upsertGroupAlert(existing.state, entry)
      : openGroup(
          {
            groupWait: match.groupWait,
            groupInterval: match.groupInterval,
            repeatInterval: match.repeatInterval,
          },
          entry,
          now,
          receiver.sendResolved,
        )
    await saveAlertGroup(
      trx,
      {
        key,
        routeId: match.id,
        receiver: receiverId,
        labels: groupLabels(match, alert.labels),
        state,
        nextFlushAt: state.flushAt,
      },
      now,
    )
  }
}

function groupMessage(
  id: string,
  receiver: string,
  labels: Record<string, string>,
  firing: Alert[],
  resolved: Alert[],
  now: number,
  publicUrl: string | undefined,
): NotificationMessage {
  const status = firing.length > 0 ? 'firing' : 'resolved'
  const all = [...firing, ...resolved]
  const first = all[0]
  const name = first?.labels.alertname ?? first?.labels.monitor ?? 'alerts'
  const groupText = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')
  const line = (alert: Alert) =>
    `- ${alert.annotations.summary ?? alert.labels.alertname ?? alert.fingerprint}${
      alert.labels.service ? ` (${alert.labels.service})` : ''
    }`
  const text = [
    ...(firing.length > 0 ? [`Firing (${firing.length}):`, ...firing.map(line)] : []),
    ...(resolved.length > 0 ? [`Resolved (${resolved.length}):`, ...resolved.map(line)] : []),
  ].join('\n')
  const common = Object.fromEntries(
    Object.entries(first?.labels ?? {}).filter(([k, v]) => all.every((a) => a.labels[k] === v)),
  )
  return {
    id,
    status,
    severity: firing[0]?.labels.severity ?? first?.labels.severity ?? 'warning',
    title: `[${status.toUpperCase()}:${status === 'firing' ? firing.length : resolved.length}] ${name}${groupText ? ` (${groupText})` : ''}`,
    text,
    fingerprint: `group:${receiver}:${groupText}`,
    labels: common,
    annotations: {},
    at: now,
    ...(publicUrl ? { url: `${publicUrl.replace(/\/$/, '')}/incidents` } : {}),
  }
}

/** The one open incident the alerts of a message belong to; undefined when none or several. */
async function soleOpenIncident(trx: Executor, alerts: readonly Alert[]) {
  const found = new Map<number, Incident>()
  for (const alert of alerts) {
    const incident = await currentIncidentOfAlert(trx, alert.id)
    if (incident && incident.status !== 'resolved') found.set(incident.id, incident)
  }
  return found.size === 1 ? found.values().next().value : undefined
}

/** What one flush of a group did, for logs and tests. */
export interface GroupFlush {
  key: string
  receiver: string
  sent?: { reason: string; firing: number; resolved: number; channels: string[] }
  closed: boolean
}

/**
 * Flushes one claimed group in its own transaction: re-reads which of its alerts are muted now,
 * asks core whether this flush notifies (first, new firing, resolved, repeat), queues one
 * grouped message per receiver channel, and stores the timer's next tick or closes the group.
 */
export async function flushAlertGroup(
  db: Db,
  key: string,
  now: number,
  options: { publicUrl?: string; links?: AckLinkSettings } = {},
): Promise<GroupFlush | undefined> {
  return db.transaction().execute(async (trx) => {
    const group = await getAlertGroup<GroupState>(trx, key)
    if (!group) return undefined
    const config = await readAlertingConfig(trx)
    const receiver = Object.hasOwn(config.receivers, group.receiver)
      ? config.receivers[group.receiver]
      : undefined
    const alerts = new Map<string, Alert>()
    for (const entry of group.state.alerts) {
      const alert = await getAlert(trx, entry.fingerprint)
      if (alert) alerts.set(entry.fingerprint, alert)
    }
    // Suppression may have changed since the alert joined (a silence made or expired).
    const state: GroupState = {
      ...group.state,
      alerts: group.state.alerts
        .filter((entry) => alerts.has(entry.fingerprint))
        .map((entry) => {
          const alert = alerts.get(entry.fingerprint) as Alert
          const { muted: _muted, ...rest } = entry
          return alert.status === 'firing' && alert.suppressedBy ? { ...rest, muted: true } : rest
        }),
    }
    const sample = alerts.values().next().value
    const route = sample
      ? (config.route ? matchRoutes(config.route, sample.labels) : []).find(
          (m) => m.id === group.routeId,
        )
      : undefined
    const muted = route ? isRouteMutedNow(config, route, now) : false
    const plan = planGroupNotification(state, now, { muted })
    let sent: GroupFlush['sent']
    if (plan.notification && receiver && receiver.channels.length > 0) {
      const pick = (fps: string[]) =>
        fps.flatMap((fp) => (alerts.has(fp) ? [alerts.get(fp) as Alert] : []))
      const firing = pick(plan.notification.firing)
      const resolved = pick(plan.notification.resolved)
      const { links } = options
      const incident = links ? await soleOpenIncident(trx, [...firing, ...resolved]) : undefined
      await enqueueNotifications(
        trx,
        receiver.channels.map((channelSlug) => {
          // A channel is nobody in particular: a followed link is recorded as the channel's.
          const linkGrant =
            links && incident ? incidentLinkGrant(incident, `channel:${channelSlug}`) : undefined
          return {
            channelSlug,
            message: groupMessage(
              `group:${key}:${now}:${channelSlug}`,
              group.receiver,
              group.labels,
              firing,
              resolved,
              now,
              options.publicUrl,
            ),
            ...(linkGrant ? { linkGrant } : {}),
          }
        }),
        now,
      )
      sent = {
        reason: plan.notification.reason,
        firing: firing.length,
        resolved: resolved.length,
        channels: [...receiver.channels],
      }
    }
    const next = recordGroupFlush(state, now, { muted })
    if (!next || !receiver) {
      await deleteAlertGroup(trx, key)
      return { key, receiver: group.receiver, ...(sent ? { sent } : {}), closed: true }
    }
    await saveAlertGroup(trx, { ...group, state: next, nextFlushAt: next.flushAt }, now)
    return { key, receiver: group.receiver, ...(sent ? { sent } : {}), closed: false }
  })
}

/** Options of the group notifier. */
export interface GroupNotifierOptions {
  db: Db
  clock: Clock
  log: Logger
  owner: string
  publicUrl?: string
  /** Signs acknowledge/resolve links into messages whose alerts share one open incident. */
  links?: AckLinkSettings
  /** The slowest polling pace (default 5 s). */
  pollIntervalMs?: number
  /** Called after a flush queued messages, to wake the outbox dispatcher. */
  onNotified?: () => void
  /** Called after each flush, for logs and tests. */
  onFlush?: (flush: GroupFlush) => void
}

/** The loop that flushes due aggregation groups: Alertmanager's dispatcher, on durable rows. */
export class GroupNotifier extends PassWorker {
  constructor(private readonly options: GroupNotifierOptions) {
    super({
      clock: options.clock,
      pollIntervalMs: options.pollIntervalMs ?? 5_000,
      onError: (error) => options.log.error({ err: error }, 'reading due alert groups failed'),
    })
  }

  protected nextDue(): Promise<number | undefined> {
    return nextAlertGroupDue(this.options.db)
  }

  protected async pass(): Promise<void> {
    const { db, clock, log, owner } = this.options
    try {
      for (;;) {
        if (this.loop.stopped) break
        const keys = await claimDueAlertGroups(db, owner, clock.now(), 60_000, 50)
        if (keys.length === 0) break
        let notified = false
        for (const key of keys) {
          const flush = await flushAlertGroup(db, key, clock.now(), {
            ...(this.options.publicUrl ? { publicUrl: this.options.publicUrl } : {}),
            ...(this.options.links ? { links: this.options.links } : {}),
          })
          if (!flush) continue
          if (flush.sent) notified = true
          this.options.onFlush?.(flush)
        }
        if (notified) this.options.onNotified?.()
      }
    } catch (error) {
      log.error({ err: error }, 'alert group pass failed; will retry')
    }
  }
}

/** What one re-evaluation pass changed. */
export interface SuppressionReview {
  /** Alerts no longer muted, now paging through incidents. */
  released: string[]
  /** Alerts newly muted (a silence or maintenance that started, a new inhibitor). */
  muted: string[]
  /** Incidents whose paging stopped because every firing alert of theirs is muted. */
  quietedIncidents: number[]
}

/**
 * Re-decides suppression for every firing alert at `now`, in one transaction: when a silence
 * or maintenance window ends, or an inhibiting alert resolves, a muted alert is released and
 * goes through incident grouping as if it fired now; when one starts, alerts it covers are
 * muted, and an incident whose firing alerts are all muted stops paging (with a timeline line).
 * The runtime calls it periodically and right after a silence or window changes.
 */
export async function reviewSuppression(
  db: Db,
  now: number,
  options: { incidentPolicy?: IncidentPolicy } = {},
): Promise<SuppressionReview> {
  return db.transaction().execute(async (trx) => {
    const review: SuppressionReview = { released: [], muted: [], quietedIncidents: [] }
    const scope = new NoiseScope(trx, now)
    const inputs = await scope.suppressionInputs()
    // With nothing that mutes, only alerts still marked muted can change (they are released).
    const nothingMutes =
      inputs.silences.length === 0 &&
      inputs.maintenance.length === 0 &&
      inputs.inhibitRules.length === 0
    const firing = await listFiringAlertLabels(trx, { suppressedOnly: nothingMutes })
    const touchedIncidents = new Set<number>()
    for (const alert of firing) {
      const suppression = suppressionOf(alert.fingerprint, alert.labels, inputs, now)
      const text = suppression ? suppressionText(suppression) : undefined
      if (text === alert.suppressedBy) continue
      await setAlertSuppression(trx, alert.fingerprint, text ?? null)
      const stored = await getAlert(trx, alert.fingerprint)
      if (!stored) continue
      if (text === undefined) {
        review.released.push(alert.fingerprint)
        await updateIncidentForAlert(
          trx,
          { event: eventOf(stored, now), alert: stored, change: 'reopened' },
          { now, ...(options.incidentPolicy ? { policy: options.incidentPolicy } : {}) },
        )
      } else if (alert.suppressedBy === undefined) {
        review.muted.push(alert.fingerprint)
        const incident = await currentIncidentOfAlert(trx, stored.id, { lock: true })
        if (incident && incident.status !== 'resolved') touchedIncidents.add(incident.id)
      }
      await addToGroups(trx, await scope.alerting(), stored, text !== undefined, now)
    }
    for (const incidentId of touchedIncidents) {
      const linked = await listIncidentAlerts(trx, incidentId)
      const stillPaging = linked.some((a) => a.status === 'firing' && !a.suppressedBy)
      if (stillPaging || (await countFiringAlerts(trx, incidentId)) === 0) continue
      if ((await stopEscalation(trx, incidentId, now)) >= 0) {
        await appendTimeline(trx, incidentId, [
          {
            at: now,
            kind: 'note',
            text: 'Paging stopped: every firing alert of this incident is silenced or in maintenance.',
          },
        ])
        review.quietedIncidents.push(incidentId)
      }
    }
    return review
  })
}

function eventOf(alert: Alert, now: number) {
  return {
    fingerprint: alert.fingerprint,
    status: 'firing' as const,
    labels: alert.labels,
    annotations: alert.annotations,
    source: alert.source,
    at: now,
  }
}

/**
 * Queues the "silence expires soon" notice for silences ending within `silenceExpiryNotice`, once
 * each, to `alerting.noticeChannels`. Returns the ids announced.
 */
export async function sendSilenceExpiryNotices(
  db: Db,
  now: number,
  options: { publicUrl?: string } = {},
): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    const config = await readAlertingConfig(trx)
    if (config.silenceExpiryNotice <= 0) return []
    const due = await silencesDueForExpiryNotice(trx, now, config.silenceExpiryNotice)
    const announced: string[] = []
    for (const silence of due) {
      if (!(await markSilenceExpiryNotified(trx, silence.id, now))) continue
      announced.push(silence.id)
      const minutes = Math.max(1, Math.round((silence.endsAt - now) / 60_000))
      await enqueueNotifications(
        trx,
        config.noticeChannels.map((channelSlug) => ({
          channelSlug,
          message: {
            id: `silence-expiry:${silence.id}:${channelSlug}`,
            status: 'firing' as const,
            severity: 'info',
            title: `Silence expires in ${minutes} min: ${silence.matchers.join(', ')}`,
            text: `The silence made by ${silence.createdBy} ("${silence.comment}") ends at ${new Date(silence.endsAt).toISOString()}. Alerts it mutes will page again; extend it if the work is not done.`,
            fingerprint: `silence:${silence.id}`,
            labels: { alertname: 'SilenceExpiring', silence: silence.id },
            annotations: { createdBy: silence.createdBy, comment: silence.comment },
            at: now,
            ...(options.publicUrl
              ? { url: `${options.publicUrl.replace(/\/$/, '')}/silences` }
              : {}),
          },
        })),
        now,
      )
    }
    return announced
  })
}
