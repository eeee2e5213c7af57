import type { AlertEvent } from '../core/alerts/index.js'
import {
  getAlert,
  upsertAlertByFingerprint,
  type Alert,
  type AlertChange,
} from '../store/alerts.js'
import type { Executor } from '../store/dialect.js'
import {
  isAcknowledgement,
  updateIncidentForAlert,
  type IncidentChange,
  type IncidentPolicy,
} from './incidents.js'
import { groupUnderRootCause, mergeDependentIncidents } from './dependencies.js'
import { applyNoiseControl, NoiseScope } from './noise.js'

/** What the pipeline did with one alert event. */
export interface ProcessedAlert {
  event: AlertEvent
  alert?: Alert
  change: AlertChange
  /** The incident the event opened, joined, acknowledged or resolved, if any. */
  incident?: IncidentChange
  /** Why the alert is muted (`silence:<id>`, `maintenance:<id>`, `inhibited:<fp>`), if it is. */
  suppressedBy?: string
}

/** Options of `processAlertEvents`. */
export interface ProcessAlertEventsOptions {
  now: number
  publicUrl?: string
  /** How alerts group into incidents; the applied `incidents:` section when absent. */
  incidentPolicy?: IncidentPolicy
  /** Noise-control inputs shared by a whole batch (group commit); one per call when absent. */
  scope?: NoiseScope
}

/**
 * Upserts the alert of an event. An acknowledgement refreshes the firing alert it names (the
 * sender may note the acknowledgement in its annotations) but never opens or reopens one.
 */
async function upsertAlert(
  trx: Executor,
  event: AlertEvent,
): Promise<{ alert?: Alert; change: AlertChange }> {
  if (!isAcknowledgement(event)) return upsertAlertByFingerprint(trx, event)
  const existing = await getAlert(trx, event.fingerprint)
  if (existing?.status !== 'firing') {
    return { ...(existing ? { alert: existing } : {}), change: 'unchanged' }
  }
  return upsertAlertByFingerprint(trx, { ...event, status: 'firing' })
}

/**
 * The one pipeline every alert goes through, whatever its source (Keel's monitors, Alertmanager,
 * PagerDuty senders, generic JSON): upsert by fingerprint, then grouping into incidents (open,
 * join, auto-resolve; a PagerDuty `acknowledge` acknowledges the incident and leaves the alert
 * firing), after noise control (silences, maintenance, inhibition mute it; the routing tree's
 * aggregation groups notify receiver channels). Escalation starts from the incident. Runs
 * inside the caller's transaction, so an accepted event and everything it causes commit together.
 */
export async function processAlertEvents(
  trx: Executor,
  events: readonly AlertEvent[],
  options: ProcessAlertEventsOptions,
): Promise<ProcessedAlert[]> {
  const out: ProcessedAlert[] = []
  const scope = options.scope ?? new NoiseScope(trx, options.now)
  for (const event of events) {
    const { alert, change } = await upsertAlert(trx, event)
    const noise =
      alert && !isAcknowledgement(event) ? await applyNoiseControl(trx, scope, alert, change) : {}
    // A muted firing alert opens and joins nothing; `reviewSuppression` lets it in once released.
    const muted = noise.suppressedBy !== undefined && alert?.status === 'firing'
    const grouped =
      !muted && alert ? await groupUnderRootCause(trx, scope, alert, change) : undefined
    const incident = muted
      ? undefined
      : (grouped ??
        (await updateIncidentForAlert(
          trx,
          { event, change, ...(alert ? { alert } : {}) },
          {
            now: options.now,
            ...(options.incidentPolicy ? { policy: options.incidentPolicy } : {}),
          },
        )))
    if (incident && alert) await mergeDependentIncidents(trx, scope, alert, change, incident)
    out.push({
      event,
      change,
      ...(alert ? { alert } : {}),
      ...(incident ? { incident } : {}),
      ...(noise.suppressedBy ? { suppressedBy: noise.suppressedBy } : {}),
    })
  }
  return out
}
