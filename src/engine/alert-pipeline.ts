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

/** What the pipeline did with one alert event. */
export interface ProcessedAlert {
  event: AlertEvent
  alert?: Alert
  change: AlertChange
  /** The incident the event opened, joined, acknowledged or resolved, if any. */
  incident?: IncidentChange
}

/** Options of `processAlertEvents`. */
export interface ProcessAlertEventsOptions {
  now: number
  publicUrl?: string
  /** How alerts group into incidents; `defaultIncidentPolicy` when absent. */
  incidentPolicy?: IncidentPolicy
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
 * firing), and as the engine grows silences, maintenance, inhibition and escalation. Runs
 * inside the caller's transaction, so an accepted event and everything it causes commit together.
 */
export async function processAlertEvents(
  trx: Executor,
  events: readonly AlertEvent[],
  options: ProcessAlertEventsOptions,
): Promise<ProcessedAlert[]> {
  const out: ProcessedAlert[] = []
  for (const event of events) {
    const { alert, change } = await upsertAlert(trx, event)
    const incident = await updateIncidentForAlert(
      trx,
      { event, change, ...(alert ? { alert } : {}) },
      { now: options.now, ...(options.incidentPolicy ? { policy: options.incidentPolicy } : {}) },
    )
    out.push({ event, change, ...(alert ? { alert } : {}), ...(incident ? { incident } : {}) })
  }
  return out
}
