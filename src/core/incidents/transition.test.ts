import { describe, expect, it } from 'vitest'
import { incidentStatuses, type Incident, type IncidentStatus } from './incident.js'
import {
  applyIncidentEvent,
  openIncident,
  type IncidentEffect,
  type IncidentEvent,
} from './transition.js'

const minute = 60_000
const t0 = Date.UTC(2024, 4, 1, 12)
const now = t0 + 10 * minute

const triggered: Incident = {
  id: 7,
  title: 'db-main is DOWN',
  severity: 'error',
  status: 'triggered',
  roles: {},
  service: 'db-main',
  groupKey: 'service="db-main"',
  createdAt: t0,
  ackTimeoutMs: 30 * minute,
  autoResolve: true,
}
const acknowledged: Incident = {
  ...triggered,
  status: 'acknowledged',
  assignee: 'alice',
  acknowledgedAt: t0 + 2 * minute,
  // Due exactly now, so the ack-timeout row shows the re-trigger.
  ackTimeoutAt: now,
}
const resolved: Incident = {
  ...triggered,
  status: 'resolved',
  assignee: 'alice',
  acknowledgedAt: t0 + 2 * minute,
  resolvedAt: t0 + 5 * minute,
}
const incidents: Record<IncidentStatus, Incident> = { triggered, acknowledged, resolved }

const alert = { fingerprint: 'f1', summary: 'db-main is DOWN', severity: 'warning' as const }
const events: Record<IncidentEvent['kind'], IncidentEvent> = {
  trigger: { kind: 'trigger', by: 'carol' },
  acknowledge: { kind: 'acknowledge', by: 'carol' },
  resolve: { kind: 'resolve', by: 'carol', reason: 'restarted the primary' },
  reopen: { kind: 'reopen', by: 'carol' },
  reassign: { kind: 'reassign', by: 'carol', to: 'dave' },
  setRole: { kind: 'setRole', by: 'carol', role: 'commander', to: 'erin' },
  setSeverity: { kind: 'setSeverity', by: 'carol', severity: 'critical' },
  addNote: { kind: 'addNote', by: 'carol', text: 'failing over to the replica' },
  alertAttached: { kind: 'alertAttached', alert },
  alertResolved: { kind: 'alertResolved', alert, allAlertsResolved: true },
  ackTimeout: { kind: 'ackTimeout' },
}

type Expected = { refused: RegExp } | { status: IncidentStatus; effects: IncidentEffect['kind'][] }

// Every (state, event) pair: what it becomes and which effects it asks for, in order.
const table: [IncidentStatus, IncidentEvent['kind'], Expected][] = [
  ['triggered', 'trigger', { refused: /#7 is already triggered/ }],
  [
    'triggered',
    'acknowledge',
    {
      status: 'acknowledged',
      effects: ['timeline', 'stopEscalation', 'scheduleAckTimeout', 'notify'],
    },
  ],
  [
    'triggered',
    'resolve',
    { status: 'resolved', effects: ['timeline', 'stopEscalation', 'notify'] },
  ],
  ['triggered', 'reopen', { refused: /#7 is not resolved \(it is triggered\)/ }],
  ['triggered', 'reassign', { status: 'triggered', effects: ['timeline', 'notify'] }],
  ['triggered', 'setRole', { status: 'triggered', effects: ['timeline'] }],
  ['triggered', 'setSeverity', { status: 'triggered', effects: ['timeline', 'notify'] }],
  ['triggered', 'addNote', { status: 'triggered', effects: ['timeline'] }],
  ['triggered', 'alertAttached', { status: 'triggered', effects: ['timeline'] }],
  [
    'triggered',
    'alertResolved',
    { status: 'resolved', effects: ['timeline', 'timeline', 'stopEscalation', 'notify'] },
  ],
  ['triggered', 'ackTimeout', { refused: /#7 is triggered, so no acknowledgement can time out/ }],

  [
    'acknowledged',
    'trigger',
    {
      status: 'triggered',
      effects: ['timeline', 'cancelAckTimeout', 'notify', 'startEscalation'],
    },
  ],
  ['acknowledged', 'acknowledge', { refused: /#7 is already acknowledged/ }],
  [
    'acknowledged',
    'resolve',
    { status: 'resolved', effects: ['timeline', 'cancelAckTimeout', 'notify'] },
  ],
  ['acknowledged', 'reopen', { refused: /#7 is not resolved \(it is acknowledged\)/ }],
  ['acknowledged', 'reassign', { status: 'acknowledged', effects: ['timeline', 'notify'] }],
  ['acknowledged', 'setRole', { status: 'acknowledged', effects: ['timeline'] }],
  ['acknowledged', 'setSeverity', { status: 'acknowledged', effects: ['timeline', 'notify'] }],
  ['acknowledged', 'addNote', { status: 'acknowledged', effects: ['timeline'] }],
  ['acknowledged', 'alertAttached', { status: 'acknowledged', effects: ['timeline'] }],
  [
    'acknowledged',
    'alertResolved',
    { status: 'resolved', effects: ['timeline', 'timeline', 'cancelAckTimeout', 'notify'] },
  ],
  [
    'acknowledged',
    'ackTimeout',
    { status: 'triggered', effects: ['timeline', 'notify', 'startEscalation'] },
  ],

  ['resolved', 'trigger', { refused: /#7 is resolved; reopen it instead/ }],
  ['resolved', 'acknowledge', { refused: /#7 is resolved; reopen it before acknowledging/ }],
  ['resolved', 'resolve', { refused: /#7 is already resolved/ }],
  [
    'resolved',
    'reopen',
    { status: 'triggered', effects: ['timeline', 'notify', 'startEscalation'] },
  ],
  ['resolved', 'reassign', { refused: /#7 is resolved; reopen it before reassigning/ }],
  ['resolved', 'setRole', { status: 'resolved', effects: ['timeline'] }],
  ['resolved', 'setSeverity', { status: 'resolved', effects: ['timeline'] }],
  ['resolved', 'addNote', { status: 'resolved', effects: ['timeline'] }],
  ['resolved', 'alertAttached', { refused: /#7 is resolved; a new alert opens a new incident/ }],
  ['resolved', 'alertResolved', { status: 'resolved', effects: ['timeline'] }],
  ['resolved', 'ackTimeout', { refused: /#7 is resolved, so no acknowledgement can time out/ }],
]

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

describe('applyIncidentEvent', () => {
  it('has a row for every (state, event) pair', () => {
    const pairs = table.map(([state, kind]) => `${state} ${kind}`).sort()
    const all = incidentStatuses.flatMap((s) => Object.keys(events).map((k) => `${s} ${k}`)).sort()
    expect(pairs).toEqual(all)
  })

  it.each(table)('%s incident, %s event', (state, kind, expected) => {
    const before = deepFreeze(structuredClone(incidents[state]))
    const result = applyIncidentEvent(before, events[kind], now)
    if ('refused' in expected) {
      expect(result.ok).toBe(false)
      if (!result.ok) expect(result.reason).toMatch(expected.refused)
      return
    }
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.incident.status).toBe(expected.status)
    expect(result.effects.map((e) => e.kind)).toEqual(expected.effects)
    for (const effect of result.effects) {
      if (effect.kind === 'timeline') expect(effect.entry.at).toBe(now)
    }
  })
})

describe('applyIncidentEvent in detail', () => {
  const ok = (incident: Incident, event: IncidentEvent, at = now) => {
    const result = applyIncidentEvent(incident, event, at)
    if (!result.ok) throw new Error(`expected ok, got: ${result.reason}`)
    return result
  }

  it('makes the first acknowledger the assignee and schedules the ack timeout', () => {
    const result = ok(triggered, { kind: 'acknowledge', by: 'carol' })
    expect(result.incident).toMatchObject({
      assignee: 'carol',
      acknowledgedAt: now,
      ackTimeoutAt: now + 30 * minute,
    })
    expect(result.effects).toContainEqual({ kind: 'scheduleAckTimeout', at: now + 30 * minute })
    expect(result.effects[0]).toEqual({
      kind: 'timeline',
      entry: { at: now, kind: 'acknowledged', by: 'carol', text: 'Acknowledged by carol' },
    })
  })

  it('keeps an existing assignee when someone else acknowledges', () => {
    const result = ok({ ...triggered, assignee: 'bob' }, { kind: 'acknowledge', by: 'carol' })
    expect(result.incident.assignee).toBe('bob')
  })

  it('schedules no timeout when the incident has none', () => {
    const { ackTimeoutMs: _none, ...noTimeout } = triggered
    const result = ok(noTimeout, { kind: 'acknowledge', by: 'carol' })
    expect(result.incident.ackTimeoutAt).toBeUndefined()
    expect(result.effects.map((e) => e.kind)).not.toContain('scheduleAckTimeout')
  })

  it('keeps the first acknowledgement time through a re-trigger and a second acknowledgement', () => {
    const retriggered = ok(acknowledged, { kind: 'ackTimeout' }).incident
    expect(retriggered).toMatchObject({ status: 'triggered', acknowledgedAt: t0 + 2 * minute })
    expect(retriggered.ackTimeoutAt).toBeUndefined()
    const again = ok(retriggered, { kind: 'acknowledge', by: 'dave' }, now + minute).incident
    expect(again.acknowledgedAt).toBe(t0 + 2 * minute)
    expect(again.ackTimeoutAt).toBe(now + 31 * minute)
  })

  it('refuses an ack timeout that is not due yet, or that was never set', () => {
    const early = applyIncidentEvent(acknowledged, { kind: 'ackTimeout' }, now - 90_000)
    expect(early).toEqual({
      ok: false,
      reason: 'incident #7: its acknowledgement times out in 1m30s, not yet',
    })
    const { ackTimeoutAt: _none, ...noTimeout } = acknowledged
    expect(applyIncidentEvent(noTimeout, { kind: 'ackTimeout' }, now)).toEqual({
      ok: false,
      reason: 'incident #7 has no acknowledgement timeout',
    })
  })

  it('says in the timeline how long the acknowledgement held', () => {
    const result = ok(acknowledged, { kind: 'ackTimeout' })
    expect(result.effects[0]).toMatchObject({
      entry: {
        kind: 'ackTimedOut',
        text: 'Acknowledgement timed out after 30m without a resolve; re-triggered',
      },
    })
    expect(result.effects).toContainEqual({ kind: 'notify', reason: 'ackTimedOut' })
  })

  it('records the resolve reason and clears a pending ack timeout', () => {
    const result = ok(acknowledged, { kind: 'resolve', by: 'carol', reason: ' restarted ' })
    expect(result.incident).toMatchObject({ status: 'resolved', resolvedAt: now })
    expect(result.incident.ackTimeoutAt).toBeUndefined()
    expect(result.effects[0]).toMatchObject({
      entry: {
        kind: 'resolved',
        by: 'carol',
        text: 'Resolved by carol: restarted',
        data: { reason: 'restarted' },
      },
    })
  })

  it('forgets the resolution time when reopened', () => {
    const result = ok(resolved, { kind: 'reopen', by: 'carol', reason: 'it is back' })
    expect(result.incident.resolvedAt).toBeUndefined()
    expect(result.incident.status).toBe('triggered')
    expect(result.effects[0]).toMatchObject({ entry: { text: 'Reopened by carol: it is back' } })
  })

  it('auto-resolves only when every alert has resolved and the incident allows it', () => {
    const notAll = ok(triggered, { kind: 'alertResolved', alert, allAlertsResolved: false })
    expect(notAll.incident.status).toBe('triggered')
    expect(notAll.effects.map((e) => e.kind)).toEqual(['timeline'])

    const manual = ok(
      { ...triggered, autoResolve: false },
      { kind: 'alertResolved', alert, allAlertsResolved: true },
    )
    expect(manual.incident.status).toBe('triggered')

    const auto = ok(triggered, { kind: 'alertResolved', alert, allAlertsResolved: true })
    expect(auto.incident).toMatchObject({ status: 'resolved', resolvedAt: now })
    expect(auto.effects.slice(0, 2)).toEqual([
      {
        kind: 'timeline',
        entry: {
          at: now,
          kind: 'alertResolved',
          text: 'Alert resolved: db-main is DOWN',
          data: { fingerprint: 'f1' },
        },
      },
      {
        kind: 'timeline',
        entry: {
          at: now,
          kind: 'resolved',
          text: 'Resolved automatically: all alerts resolved',
          data: { reason: 'all alerts resolved' },
        },
      },
    ])
  })

  it('raises the severity when a more severe alert joins, and never lowers it', () => {
    const critical = { ...alert, severity: 'critical' as const }
    const raised = ok(triggered, { kind: 'alertAttached', alert: critical })
    expect(raised.incident.severity).toBe('critical')
    expect(raised.effects.map((e) => e.kind)).toEqual(['timeline', 'timeline', 'notify'])
    expect(raised.effects[1]).toMatchObject({
      entry: { kind: 'severityChanged', data: { from: 'error', to: 'critical' } },
    })
    const lower = ok(triggered, { kind: 'alertAttached', alert, refired: true })
    expect(lower.incident.severity).toBe('error')
    expect(lower.effects[0]).toMatchObject({
      entry: { text: 'Alert fired again: db-main is DOWN' },
    })
  })

  it('notifies on a severity change only when it is raised', () => {
    const lowered = ok(triggered, { kind: 'setSeverity', by: 'carol', severity: 'info' })
    expect(lowered.effects.map((e) => e.kind)).toEqual(['timeline'])
  })

  it('sets, replaces and clears roles, and refuses a change that changes nothing', () => {
    const set = ok(triggered, { kind: 'setRole', by: 'carol', role: 'scribe', to: 'erin' })
    expect(set.incident.roles).toEqual({ scribe: 'erin' })
    expect(set.effects[0]).toMatchObject({ entry: { text: 'erin is scribe (set by carol)' } })
    const cleared = ok(set.incident, { kind: 'setRole', by: 'carol', role: 'scribe' })
    expect(cleared.incident.roles).toEqual({})
    expect(cleared.effects[0]).toMatchObject({
      entry: { text: 'scribe role cleared by carol (was erin)' },
    })
    expect(
      applyIncidentEvent(
        set.incident,
        { kind: 'setRole', by: 'x', role: 'scribe', to: 'erin' },
        now,
      ),
    ).toEqual({ ok: false, reason: 'erin is already scribe of incident #7' })
    expect(
      applyIncidentEvent(triggered, { kind: 'setRole', by: 'x', role: 'scribe' }, now),
    ).toEqual({
      ok: false,
      reason: 'incident #7 has no scribe to clear',
    })
  })

  it.each([
    {
      name: 'reassigning to the current assignee',
      incident: { ...triggered, assignee: 'dave' },
      event: { kind: 'reassign', by: 'carol', to: 'dave' } as const,
      reason: 'incident #7 is already assigned to dave',
    },
    {
      name: 'reassigning to nobody',
      incident: triggered,
      event: { kind: 'reassign', by: 'carol', to: '  ' } as const,
      reason: 'incident #7: reassign needs someone to assign it to',
    },
    {
      name: 'an empty note',
      incident: triggered,
      event: { kind: 'addNote', by: 'carol', text: '\n' } as const,
      reason: 'incident #7: a note needs some text',
    },
    {
      name: 'setting the severity it has',
      incident: triggered,
      event: { kind: 'setSeverity', by: 'carol', severity: 'error' } as const,
      reason: 'incident #7 is already error',
    },
  ])('refuses $name', ({ incident, event, reason }) => {
    expect(applyIncidentEvent(incident, event, now)).toEqual({ ok: false, reason })
  })

  it('names the previous assignee when reassigning', () => {
    const result = ok(acknowledged, { kind: 'reassign', by: 'carol', to: 'dave' })
    expect(result.effects[0]).toMatchObject({
      entry: {
        text: 'Reassigned from alice to dave by carol',
        data: { from: 'alice', to: 'dave' },
      },
    })
  })

  it('records a published note as a public update, in every state, status unchanged', () => {
    for (const incident of [triggered, acknowledged]) {
      const result = ok(incident, {
        kind: 'addNote',
        by: 'carol',
        text: ' A fix is rolling out. ',
        public: true,
      })
      expect(result.incident.status).toBe(incident.status)
      expect(result.effects).toEqual([
        {
          kind: 'timeline',
          entry: { at: now, kind: 'publicUpdate', by: 'carol', text: 'A fix is rolling out.' },
        },
      ])
    }
  })
})

describe('openIncident', () => {
  it('opens a triggered incident that notifies and escalates', () => {
    const opened = openIncident(
      {
        title: 'db-main is DOWN',
        severity: 'critical',
        groupKey: 'service="db-main"',
        service: 'db-main',
        team: 'dba',
        ackTimeoutMs: 30 * minute,
      },
      t0,
    )
    expect(opened.incident).toEqual({
      title: 'db-main is DOWN',
      severity: 'critical',
      status: 'triggered',
      roles: {},
      groupKey: 'service="db-main"',
      service: 'db-main',
      team: 'dba',
      createdAt: t0,
      ackTimeoutMs: 30 * minute,
      autoResolve: true,
    })
    expect(opened.effects).toEqual([
      {
        kind: 'timeline',
        entry: {
          at: t0,
          kind: 'opened',
          text: 'Incident opened (critical): db-main is DOWN',
          data: { severity: 'critical', groupKey: 'service="db-main"' },
        },
      },
      { kind: 'notify', reason: 'triggered' },
      { kind: 'startEscalation' },
    ])
  })
})
