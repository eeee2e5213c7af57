import { describe, expect, it } from 'vitest'
import type { Incident } from './incident.js'
import { postmortemDraft } from './postmortem.js'

const t0 = Date.UTC(2024, 4, 1, 12)
const minute = 60_000

const incident: Incident = {
  id: 42,
  title: 'db-main is DOWN',
  severity: 'critical',
  status: 'resolved',
  assignee: 'alice',
  roles: { commander: 'bob' },
  service: 'db-main',
  team: 'dba',
  groupKey: 'service="db-main"',
  createdAt: t0,
  acknowledgedAt: t0 + 4 * minute,
  resolvedAt: t0 + 65 * minute,
  autoResolve: true,
}

describe('postmortemDraft', () => {
  const draft = postmortemDraft(
    incident,
    [
      { at: t0 + 4 * minute, kind: 'acknowledged', by: 'alice', text: 'Acknowledged by alice' },
      { at: t0, kind: 'opened', text: 'Incident opened (critical): db-main is DOWN' },
      { at: t0 + 5 * minute, kind: 'note', by: 'alice', text: 'pg_stat shows | in\nthe query' },
    ],
    [
      {
        fingerprint: 'f1',
        status: 'resolved',
        labels: { service: 'db-main', alertname: 'MonitorUnhealthy' },
        annotations: { summary: 'db-main is DOWN' },
        startsAt: t0,
        endsAt: t0 + 60 * minute,
      },
      {
        fingerprint: 'f2',
        status: 'firing',
        labels: { alertname: 'DiskFull' },
        annotations: {},
        startsAt: t0 + minute,
      },
    ],
  )

  it('summarises the incident with response times', () => {
    expect(draft).toContain('# Postmortem: #42 db-main is DOWN')
    expect(draft).toContain('| Severity | critical |')
    expect(draft).toContain('| Acknowledged | 2024-05-01 12:04:00 UTC (after 4m) |')
    expect(draft).toContain('| Resolved | 2024-05-01 13:05:00 UTC (after 1h5m) |')
    expect(draft).toContain('| Commander | bob |')
    expect(draft).toContain('| Scribe | — |')
    expect(draft).toContain('The incident was open for 1h5m.')
  })

  it('lists the timeline in time order in UTC, escaping table syntax', () => {
    const timeline = draft.slice(draft.indexOf('## Timeline (UTC)'), draft.indexOf('## Alerts'))
    expect(timeline.split('\n').filter((l) => l.startsWith('| 2024'))).toEqual([
      '| 2024-05-01 12:00:00 | Keel | Incident opened (critical): db-main is DOWN |',
      '| 2024-05-01 12:04:00 | alice | Acknowledged by alice |',
      '| 2024-05-01 12:05:00 | alice | pg_stat shows \\| in the query |',
    ])
  })

  it('lists the alerts and leaves placeholders for what people write', () => {
    expect(draft).toContain(
      '| db-main is DOWN | 2024-05-01 12:00:00 | 2024-05-01 13:00:00 | alertname=MonitorUnhealthy, service=db-main |',
    )
    expect(draft).toContain(
      '| DiskFull | 2024-05-01 12:01:00 | still firing | alertname=DiskFull |',
    )
    for (const heading of ['## Summary', '## Impact', '## Root cause', '## Action items']) {
      expect(draft).toContain(heading)
    }
    expect(draft).toContain('| _Prevent: ..._ | _name_ | _date_ | _issue_ |')
  })

  it('says so when an open incident has no alerts', () => {
    const open = postmortemDraft(
      { ...incident, status: 'triggered', resolvedAt: undefined },
      [],
      [],
    )
    expect(open).toContain('The incident is still open.')
    expect(open).toContain('No alerts were linked to this incident.')
    expect(open).toContain('| Resolved | — |')
  })
})
