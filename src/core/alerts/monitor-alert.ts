import type { StateTransition } from '../checks/index.js'
import type { Instant } from '../time.js'
import { fingerprint, type Labels } from './fingerprint.js'

/** An alert firing or resolving, as every source (monitors, ingest) produces it. */
export interface AlertEvent {
  fingerprint: string
  labels: Labels
  annotations: Record<string, string>
  status: 'firing' | 'resolved'
  at: Instant
  source: string
  /** Set when a sender acknowledged the alert (PagerDuty `acknowledge`); it stays firing. */
  action?: 'acknowledge'
}

/** The monitor facts an alert is labelled with. */
export interface AlertingMonitor {
  id: string
  type: string
  name?: string
  severity: string
  labels: Labels
}

/**
 * The labels of a monitor's alert while it is down, or degraded (which lowers the severity to
 * `warning`): the monitor's own labels plus the ones Keel adds.
 */
export function monitorAlertLabels(
  monitor: AlertingMonitor,
  state: 'down' | 'degraded' = 'down',
): Labels {
  return {
    ...monitor.labels,
    alertname: 'MonitorUnhealthy',
    monitor: monitor.id,
    monitor_type: monitor.type,
    severity: state === 'degraded' ? 'warning' : monitor.severity,
  }
}

/**
 * The alert event a monitor's state transition produces, or undefined when the transition is
 * not worth an alert (leaving pending for up, pausing a monitor that was neither bad nor
 * flapping). Down and degraded share one alert per monitor so that a degraded → down change
 * updates it instead of opening a second one.
 */
export function alertForTransition(
  monitor: AlertingMonitor,
  transition: StateTransition,
): AlertEvent | undefined {
  const { from, to } = transition
  const bad = to === 'down' || to === 'degraded'
  const wasBad = from === 'down' || from === 'degraded'
  if (!bad && !wasBad && !transition.flappingChanged) return undefined
  if (to === 'paused' && !wasBad && !transition.flappingChanged) return undefined
  const firing = bad || (transition.flappingChanged && transition.flapping)
  const labels = monitorAlertLabels(monitor, to === 'degraded' ? 'degraded' : 'down')
  // Severity can change between degraded and down; keep it out of the identity.
  const identity = { ...labels }
  delete identity.severity
  const stateWord = bad
    ? `is ${to.toUpperCase()}`
    : to === 'paused'
      ? 'was paused'
      : `is ${to.toUpperCase()} again`
  const verb = !transition.flappingChanged
    ? stateWord
    : transition.flapping
      ? 'is flapping'
      : `stopped flapping and ${stateWord}`
  return {
    fingerprint: fingerprint(identity),
    labels,
    annotations: {
      summary: `${monitor.name ?? monitor.id} ${verb}`,
      description: transition.message,
      state: to,
      previousState: from,
      flapping: String(transition.flapping),
    },
    status: firing ? 'firing' : 'resolved',
    at: transition.at,
    source: 'monitor',
  }
}
