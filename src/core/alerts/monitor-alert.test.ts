import { describe, expect, it } from 'vitest'
import type { MonitorState, StateTransition } from '../checks/index.js'
import type { Instant } from '../time.js'
import { alertForTransition, type AlertingMonitor } from './monitor-alert.js'

const at: Instant = Date.UTC(2026, 2, 1, 12, 30, 0)

const monitor: AlertingMonitor = {
  id: 'db-main',
  type: 'tcp',
  name: 'Main database',
  severity: 'critical',
  labels: { team: 'dba', service: 'db' },
}

function transition(
  from: MonitorState,
  to: MonitorState,
  flapping = { flapping: false, flappingChanged: false },
): StateTransition {
  return { from, to, at, message: `connect: ${from} → ${to}`, ...flapping }
}

const flappingStarts = { flapping: true, flappingChanged: true }
const flappingStops = { flapping: false, flappingChanged: true }

describe('alertForTransition', () => {
  it.each([
    {
      name: 'a new monitor coming up is not worth an alert',
      transition: transition('pending', 'up'),
    },
    {
      name: 'pausing a healthy monitor is not worth an alert',
      transition: transition('up', 'paused'),
    },
    {
      name: 'pausing a pending monitor is not worth an alert',
      transition: transition('pending', 'paused'),
    },
    {
      name: 'resuming a monitor is not worth an alert',
      transition: transition('paused', 'pending'),
    },
  ])('$name', ({ transition }) => {
    expect(alertForTransition(monitor, transition)).toBeUndefined()
  })

  it.each([
    {
      name: 'a new monitor found down fires',
      transition: transition('pending', 'down'),
      status: 'firing',
      summary: 'Main database is DOWN',
      severity: 'critical',
    },
    {
      name: 'a healthy monitor going down fires',
      transition: transition('up', 'down'),
      status: 'firing',
      summary: 'Main database is DOWN',
      severity: 'critical',
    },
    {
      name: 'a healthy monitor becoming degraded fires as a warning',
      transition: transition('up', 'degraded'),
      status: 'firing',
      summary: 'Main database is DEGRADED',
      severity: 'warning',
    },
    {
      name: 'a degraded monitor going down fires with the monitor severity',
      transition: transition('degraded', 'down'),
      status: 'firing',
      summary: 'Main database is DOWN',
      severity: 'critical',
    },
    {
      name: 'a down monitor improving to degraded still fires, as a warning',
      transition: transition('down', 'degraded'),
      status: 'firing',
      summary: 'Main database is DEGRADED',
      severity: 'warning',
    },
    {
      name: 'a down monitor coming back up resolves',
      transition: transition('down', 'up'),
      status: 'resolved',
      summary: 'Main database is UP again',
      severity: 'critical',
    },
    {
      name: 'a degraded monitor coming back up resolves',
      transition: transition('degraded', 'up'),
      status: 'resolved',
      summary: 'Main database is UP again',
      severity: 'critical',
    },
    {
      name: 'pausing a down monitor resolves its alert',
      transition: transition('down', 'paused'),
      status: 'resolved',
      summary: 'Main database was paused',
      severity: 'critical',
    },
    {
      name: 'a healthy monitor starting to flap fires',
      transition: transition('up', 'up', flappingStarts),
      status: 'firing',
      summary: 'Main database is flapping',
      severity: 'critical',
    },
    {
      name: 'flapping that starts as the monitor goes down fires once as flapping',
      transition: transition('up', 'down', flappingStarts),
      status: 'firing',
      summary: 'Main database is flapping',
      severity: 'critical',
    },
    {
      name: 'flapping that stops while the monitor is up resolves',
      transition: transition('up', 'up', flappingStops),
      status: 'resolved',
      summary: 'Main database stopped flapping and is UP again',
      severity: 'critical',
    },
    {
      name: 'flapping that stops while the monitor is down keeps firing',
      transition: transition('down', 'down', flappingStops),
      status: 'firing',
      summary: 'Main database stopped flapping and is DOWN',
      severity: 'critical',
    },
    {
      name: 'pausing a flapping monitor resolves the flapping alert',
      transition: transition('up', 'paused', flappingStops),
      status: 'resolved',
      summary: 'Main database stopped flapping and was paused',
      severity: 'critical',
    },
  ])('$name', ({ transition, status, summary, severity }) => {
    const alert = alertForTransition(monitor, transition)
    expect(alert).toEqual({
      fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
      labels: {
        team: 'dba',
        service: 'db',
        alertname: 'MonitorUnhealthy',
        monitor: 'db-main',
        monitor_type: 'tcp',
        severity,
      },
      annotations: {
        summary,
        description: transition.message,
        state: transition.to,
        previousState: transition.from,
        flapping: String(transition.flapping),
      },
      status,
      at,
      source: 'monitor',
    })
  })

  it.each([
    {
      name: 'a monitor without a name is called by its id',
      name_: undefined,
      summary: 'db-main is DOWN',
    },
    {
      name: 'a monitor with a name is called by its name',
      name_: 'Primary',
      summary: 'Primary is DOWN',
    },
  ])('$name', ({ name_, summary }) => {
    const { name: _, ...unnamed } = monitor
    const subject: AlertingMonitor = name_ === undefined ? unnamed : { ...unnamed, name: name_ }
    expect(alertForTransition(subject, transition('up', 'down'))?.annotations.summary).toBe(summary)
  })

  it("keeps Keel's own labels over monitor labels of the same name", () => {
    const clashing = {
      ...monitor,
      labels: { monitor: 'other', alertname: 'Mine', severity: 'info' },
    }
    expect(alertForTransition(clashing, transition('up', 'down'))?.labels).toEqual({
      alertname: 'MonitorUnhealthy',
      monitor: 'db-main',
      monitor_type: 'tcp',
      severity: 'critical',
    })
  })

  it('gives one fingerprint to every event of one monitor, whatever its severity', () => {
    const events = [
      transition('up', 'degraded'),
      transition('degraded', 'down'),
      transition('down', 'degraded'),
      transition('degraded', 'up'),
      transition('up', 'up', flappingStarts),
      transition('down', 'paused'),
    ].map((t) => alertForTransition(monitor, t))
    const fingerprints = new Set(events.map((e) => e?.fingerprint))
    expect(fingerprints.size).toBe(1)
    expect(events.map((e) => e?.labels.severity)).toContain('warning')
    expect(events.map((e) => e?.labels.severity)).toContain('critical')
  })

  it.each([
    {
      name: 'renaming a monitor keeps its fingerprint',
      other: { ...monitor, name: 'DB' },
      same: true,
    },
    {
      name: 'changing the monitor severity keeps its fingerprint',
      other: { ...monitor, severity: 'error' },
      same: true,
    },
    {
      name: 'another monitor id gets another fingerprint',
      other: { ...monitor, id: 'db-replica' },
      same: false,
    },
    {
      name: 'another monitor label value gets another fingerprint',
      other: { ...monitor, labels: { ...monitor.labels, team: 'sre' } },
      same: false,
    },
  ])('$name', ({ other, same }) => {
    const a = alertForTransition(monitor, transition('up', 'down'))?.fingerprint
    const b = alertForTransition(other, transition('up', 'down'))?.fingerprint
    expect(a === b).toBe(same)
  })
})
