import type { AlertEvent, Labels } from '../core/alerts/index.js'
import {
  applyIncidentEvent,
  incidentGroupKey,
  isMoreSevere,
  openIncident,
  severityFromLabel,
  type Incident,
  type IncidentAlertRef,
  type IncidentEffect,
  type IncidentEvent,
  type TransitionResult,
} from '../core/incidents/index.js'
import { readIncidentPolicy } from '../services/incident-settings.js'
import { ackTimeoutOfPolicy } from '../services/oncall.js'
import { getAlert, type Alert, type AlertChange } from '../store/alerts.js'
import { appendAudit } from '../store/audit.js'
import type { Db, Executor } from '../store/dialect.js'
import { getEscalation } from '../store/escalations.js'
import {
  appendTimeline,
  attachAlert,
  claimExpiredAcks,
  countFiringAlerts,
  currentIncidentOfAlert,
  findOpenIncident,
  insertIncident,
  listIncidentAlerts,
  saveIncident,
} from '../store/incidents.js'
import { applyEscalationEffects } from './escalator.js'

/**
 * How alerts become incidents: the `incidents:` section of keel.yaml (`readIncidentPolicy`),
 * whose defaults suit a team that has not configured anything.
 */
export interface IncidentPolicy {
  /** Labels whose values group alerts into one incident (`incidentGroupKey`). */
  groupBy: readonly string[]
  /** Resolve an incident when all its alerts have resolved. */
  autoResolve: boolean
  /** Re-trigger an acknowledged incident not resolved within this long; undefined never does. */
  ackTimeoutMs?: number
}

/** The actor name audit events carry when Keel itself changed an incident. */
export const systemActor = 'keel'

/**
 * What happened to an incident, with the effects the store does not carry out: `notify`,
 * `startEscalation` and `stopEscalation` are for the escalation engine, which reads them here.
 */
export interface IncidentChange {
  incident: Incident
  /** True when this change opened the incident. */
  opened: boolean
  effects: IncidentEffect[]
}

/** Options of `updateIncidentForAlert`. */
export interface UpdateIncidentForAlertOptions {
  now: number
  /** Overrides the applied `incidents:` section of keel.yaml (`readIncidentPolicy`). */
  policy?: IncidentPolicy
}

/** True for an event that acknowledges (PagerDuty `acknowledge`) rather than fires or resolves. */
export function isAcknowledgement(event: AlertEvent): boolean {
  return event.action === 'acknowledge'
}

/**
 * Writes a transition's outcome in the caller's transaction: the incident row (status, times and
 * `ack_timeout_at`, which carries the schedule/cancel ack-timeout effects), its timeline entries,
 * and the escalation effects (`applyEscalationEffects`: start or stop paging). Every incident
 * change goes through here. Returns the effects other than timeline entries, for the caller.
 */
export async function commitIncidentTransition(
  trx: Executor,
  incident: Incident,
  effects: readonly IncidentEffect[],
  now: number,
  options: { alertLabels?: Labels } = {},
): Promise<IncidentEffect[]> {
  await saveIncident(trx, incident, now)
  await appendTimeline(
    trx,
    incident.id,
    effects.flatMap((e) => (e.kind === 'timeline' ? [e.entry] : [])),
  )
  if (effects.some((e) => e.kind === 'startEscalation' || e.kind === 'stopEscalation')) {
    // Routes may match alert labels; a re-triggered incident is routed by its first alert's.
    const alertLabels =
      options.alertLabels ?? (await listIncidentAlerts(trx, incident.id))[0]?.labels
    await applyEscalationEffects(trx, incident, effects, now, alertLabels ? { alertLabels } : {})
  }
  return effects.filter((e) => e.kind !== 'timeline')
}

/**
 * The incident as an acknowledgement should see it: an escalation policy's own `ackTimeout`
 * wins over the one the incident opened with (the `incidents:` default), for the incidents that
 * policy escalated. Read at each acknowledgement, so a reload counts from the next one.
 */
async function withPolicyAckTimeout(trx: Executor, incident: Incident): Promise<Incident> {
  const escalation = await getEscalation(trx, incident.id)
  if (escalation === undefined) return incident
  const ackTimeoutMs = await ackTimeoutOfPolicy(trx, escalation.policyId)
  return ackTimeoutMs === undefined ? incident : { ...incident, ackTimeoutMs }
}

/** Applies an event to a stored incident and commits it; an illegal one changes nothing. */
export async function applyStoredIncidentEvent(
  trx: Executor,
  incident: Incident,
  event: IncidentEvent,
  now: number,
): Promise<TransitionResult> {
  const current =
    event.kind === 'acknowledge' && incident.status === 'triggered'
      ? await withPolicyAckTimeout(trx, incident)
      : incident
  const result = applyIncidentEvent(current, event, now)
  if (result.ok) await commitIncidentTransition(trx, result.incident, result.effects, now)
  return result
}

function alertRef(alert: Pick<Alert, 'fingerprint' | 'labels' | 'annotations'>): IncidentAlertRef {
  return {
    fingerprint: alert.fingerprint,
    summary: alertTitle(alert),
    severity: severityFromLabel(alert.labels.severity),
  }
}

/** What an alert is called: its summary, else its rule name, else its fingerprint. */
export function alertTitle(alert: Pick<Alert, 'fingerprint' | 'labels' | 'annotations'>): string {
  return (
    alert.annotations.summary ??
    alert.annotations.title ??
    alert.labels.alertname ??
    `alert ${alert.fingerprint}`
  )
}

async function auditSystem(
  trx: Executor,
  action: string,
  incident: Incident,
  now: number,
  details: Record<string, unknown>,
  actor = systemActor,
): Promise<void> {
  await appendAudit(trx, {
    at: now,
    actor,
    action,
    objectType: 'incident',
    objectId: String(incident.id),
    details,
  })
}

function changeOf(result: TransitionResult): IncidentChange | undefined {
  if (!result.ok) return undefined
  return {
    incident: result.incident,
    opened: false,
    effects: result.effects.filter((e) => e.kind !== 'timeline'),
  }
}

/** A firing alert joins the open incident of its group, or opens one. */
async function attachFiringAlert(
  trx: Executor,
  alert: Alert,
  change: AlertChange,
  now: number,
  givenPolicy: IncidentPolicy | undefined,
): Promise<IncidentChange | undefined> {
  const policy = givenPolicy ?? (await readIncidentPolicy(trx))
  const groupKey = incidentGroupKey(alert.labels, policy.groupBy)
  let open = await findOpenIncident(trx, groupKey, { lock: true })
  if (!open) {
    const opened = openIncident(
      {
        title: alertTitle(alert),
        severity: severityFromLabel(alert.labels.severity),
        groupKey,
        autoResolve: policy.autoResolve,
        ...(alert.labels.service ? { service: alert.labels.service } : {}),
        ...(alert.labels.team ? { team: alert.labels.team } : {}),
        ...(policy.ackTimeoutMs !== undefined ? { ackTimeoutMs: policy.ackTimeoutMs } : {}),
      },
      now,
    )
    const inserted = await insertIncident(trx, opened.incident, now)
    if (inserted) {
      await attachAlert(trx, inserted.id, alert.id, now)
      await commitIncidentTransition(
        trx,
        inserted,
        opened.effects.map((e) =>
          e.kind === 'timeline'
            ? {
                ...e,
                entry: { ...e.entry, data: { ...e.entry.data, fingerprint: alert.fingerprint } },
              }
            : e,
        ),
        now,
        { alertLabels: alert.labels },
      )
      await auditSystem(trx, 'incident.open', inserted, now, {
        title: inserted.title,
        severity: inserted.severity,
        groupKey,
        fingerprint: alert.fingerprint,
      })
      return {
        incident: inserted,
        opened: true,
        effects: opened.effects.filter((e) => e.kind !== 'timeline'),
      }
    }
    // Another node opened the group's incident between our read and our insert: join it.
    open = await findOpenIncident(trx, groupKey, { lock: true })
    if (!open) return undefined
  }
  const linked = await attachAlert(trx, open.id, alert.id, now)
  const result = await applyStoredIncidentEvent(
    trx,
    open,
    { kind: 'alertAttached', alert: alertRef(alert), refired: !linked || change === 'reopened' },
    now,
  )
  return changeOf(result)
}

/**
 * A firing alert joins a given open incident (dependency grouping: the incident of its probable
 * root cause) instead of its own group's, with a timeline line that names the cause. Joining
 * an open incident pages nobody new.
 */
export async function joinIncidentAsDependent(
  trx: Executor,
  incident: Incident,
  alert: Alert,
  change: AlertChange,
  now: number,
  cause: { rootEntity: string; path: readonly string[] },
): Promise<IncidentChange | undefined> {
  const linked = await attachAlert(trx, incident.id, alert.id, now)
  const result = await applyStoredIncidentEvent(
    trx,
    incident,
    { kind: 'alertAttached', alert: alertRef(alert), refired: !linked || change === 'reopened' },
    now,
  )
  await appendTimeline(trx, incident.id, [
    {
      at: now,
      kind: 'note',
      text: `${alertTitle(alert)}: grouped here, probable root cause ${cause.rootEntity} (${cause.path.join(' → ')})`,
      data: { fingerprint: alert.fingerprint, rootEntity: cause.rootEntity, path: cause.path },
    },
  ])
  return changeOf(result)
}

/**
 * The incident side of one alert event, in the caller's transaction: a firing alert (opened or
 * reopened, or one never linked) joins the open incident of its group or opens one; a firing
 * alert that turned more severe raises its incident's severity; a resolved alert is recorded on its incident, which
 * resolves when it auto-resolves and no linked alert still fires; a PagerDuty acknowledgement
 * acknowledges the alert's open incident. `alert` is the stored alert after the upsert.
 */
export async function updateIncidentForAlert(
  trx: Executor,
  input: { event: AlertEvent; alert?: Alert; change: AlertChange },
  options: UpdateIncidentForAlertOptions,
): Promise<IncidentChange | undefined> {
  const { policy } = options
  const { event, change } = input
  const { now } = options
  const alert = input.alert ?? (await getAlert(trx, event.fingerprint))
  if (!alert) return undefined

  if (isAcknowledgement(event)) {
    const incident = await currentIncidentOfAlert(trx, alert.id, { lock: true })
    if (!incident || incident.status !== 'triggered') return undefined
    const result = await applyStoredIncidentEvent(
      trx,
      incident,
      { kind: 'acknowledge', by: event.source },
      now,
    )
    if (result.ok) {
      await auditSystem(
        trx,
        'incident.acknowledge',
        result.incident,
        now,
        { fingerprint: alert.fingerprint },
        event.source,
      )
    }
    return changeOf(result)
  }

  if (alert.status === 'firing') {
    if (change === 'opened' || change === 'reopened') {
      return attachFiringAlert(trx, alert, change, now, policy)
    }
    if (change !== 'updated') return undefined
    const incident = await currentIncidentOfAlert(trx, alert.id, { lock: true })
    // Never linked: it fired before incidents existed (an upgrade), so it joins one now. An alert
    // whose incident was resolved by hand stays out until it resolves and fires again.
    if (!incident) return attachFiringAlert(trx, alert, change, now, policy)
    const severity = severityFromLabel(alert.labels.severity)
    if (incident.status === 'resolved' || !isMoreSevere(severity, incident.severity)) {
      return undefined
    }
    return changeOf(
      await applyStoredIncidentEvent(
        trx,
        incident,
        { kind: 'setSeverity', by: event.source, severity },
        now,
      ),
    )
  }

  // Resolved. An `unchanged` resolve repeats one already applied; it matters only when the
  // alert cleared quietly (a monitor that stopped flapping) and its incident is still waiting.
  if (change !== 'resolved' && change !== 'unchanged') return undefined
  const incident = await currentIncidentOfAlert(trx, alert.id, { lock: true })
  if (!incident) return undefined
  const allAlertsResolved = (await countFiringAlerts(trx, incident.id)) === 0
  if (change === 'unchanged') {
    if (incident.status === 'resolved' || !incident.autoResolve || !allAlertsResolved) {
      return undefined
    }
  }
  const result = await applyStoredIncidentEvent(
    trx,
    incident,
    { kind: 'alertResolved', alert: alertRef(alert), allAlertsResolved },
    now,
  )
  if (result.ok && incident.status !== 'resolved' && result.incident.status === 'resolved') {
    await auditSystem(trx, 'incident.resolve', result.incident, now, {
      reason: 'all alerts resolved',
    })
  }
  return changeOf(result)
}

/** Options of `retriggerExpiredAcks`. */
export interface RetriggerExpiredAcksOptions {
  /** Incidents handled per call (default 100); the next call takes the rest. */
  limit?: number
}

/**
 * Re-triggers acknowledged incidents whose acknowledgement ran out at `now` without a resolve,
 * through the state machine, in one transaction (rows are claimed with SKIP LOCKED on
 * PostgreSQL, so several nodes may call it). The runtime calls it periodically.
 */
export async function retriggerExpiredAcks(
  db: Db,
  now: number,
  options: RetriggerExpiredAcksOptions = {},
): Promise<IncidentChange[]> {
  return db.transaction().execute(async (trx) => {
    const changes: IncidentChange[] = []
    for (const incident of await claimExpiredAcks(trx, now, options.limit ?? 100)) {
      const result = await applyStoredIncidentEvent(trx, incident, { kind: 'ackTimeout' }, now)
      const change = changeOf(result)
      if (!change) continue
      await auditSystem(trx, 'incident.retrigger', change.incident, now, {
        reason: 'acknowledgement timed out',
        ackTimeoutMs: incident.ackTimeoutMs,
      })
      changes.push(change)
    }
    return changes
  })
}
