import type { IncidentSeverity, IncidentStatus } from './ops-types'

// Incident words reuse the monitor chip colours: triggered is as bad as down, acknowledged is
// being handled (degraded), resolved is up.
const statusClass: Record<IncidentStatus, string> = {
  triggered: 'down',
  acknowledged: 'degraded',
  resolved: 'up',
}

const severityClass: Record<IncidentSeverity, string> = {
  critical: 'down',
  error: 'down',
  warning: 'degraded',
  info: 'pending',
}

/** An incident status as a coloured chip with its word. */
export function IncidentStatusChip(props: { status: IncidentStatus; large?: boolean }) {
  const { status, large } = props
  return (
    <span
      className={`chip chip-${statusClass[status]}${large ? ' chip-large' : ''}`}
      data-status={status}
    >
      <span className="chip-dot" aria-hidden="true" />
      {status}
    </span>
  )
}

/** An incident severity as a small outlined tag. */
export function SeverityTag(props: { severity: IncidentSeverity }) {
  return (
    <span
      className={`severity severity-${severityClass[props.severity]}`}
      data-severity={props.severity}
    >
      {props.severity}
    </span>
  )
}
