import { describe, expect, it } from 'vitest'
import type { Incident } from './incident.js'
import { incidentMetrics } from './metrics.js'

const minute = 60_000
const from = Date.UTC(2024, 4, 1)
const to = Date.UTC(2024, 5, 1)

let nextId = 1
function incident(
  createdAt: number,
  ackAfterMin: number | undefined,
  resolveAfterMin: number | undefined,
  extra: Partial<Incident> = {},
): Incident {
  return {
    id: nextId++,
    title: 't',
    severity: 'critical',
    status:
      resolveAfterMin !== undefined
        ? 'resolved'
        : ackAfterMin !== undefined
          ? 'acknowledged'
          : 'triggered',
    roles: {},
    groupKey: 'k',
    createdAt,
    autoResolve: true,
    ...(ackAfterMin !== undefined ? { acknowledgedAt: createdAt + ackAfterMin * minute } : {}),
    ...(resolveAfterMin !== undefined ? { resolvedAt: createdAt + resolveAfterMin * minute } : {}),
    ...extra,
  }
}

describe('incidentMetrics', () => {
  it('computes MTTA and MTTR with p50 and p90 per service, and overall', () => {
    const db = (ack: number, res: number) =>
      incident(from + minute, ack, res, { service: 'db-main', team: 'dba' })
    const incidents = [
      // Ten db-main incidents acknowledged after 1..10 minutes, resolved after 10..100.
      ...Array.from({ length: 10 }, (_, i) => db(i + 1, (i + 1) * 10)),
      incident(from + 2 * minute, 4, undefined, { service: 'web', team: 'web' }),
      incident(from + 3 * minute, undefined, 30, { service: 'web', team: 'web' }),
      incident(from + 4 * minute, undefined, undefined),
    ]
    const report = incidentMetrics(incidents, from, to, 'service')
    expect(report.groups).toEqual([
      {
        group: 'db-main',
        incidents: 10,
        acknowledged: 10,
        resolved: 10,
        mtta: { count: 10, meanMs: 5.5 * minute, p50Ms: 5 * minute, p90Ms: 9 * minute },
        mttr: { count: 10, meanMs: 55 * minute, p50Ms: 50 * minute, p90Ms: 90 * minute },
      },
      {
        group: 'web',
        incidents: 2,
        acknowledged: 1,
        resolved: 1,
        mtta: { count: 1, meanMs: 4 * minute, p50Ms: 4 * minute, p90Ms: 4 * minute },
        mttr: { count: 1, meanMs: 30 * minute, p50Ms: 30 * minute, p90Ms: 30 * minute },
      },
      { group: '(none)', incidents: 1, acknowledged: 0, resolved: 0 },
    ])
    expect(report.overall).toMatchObject({
      group: 'all',
      incidents: 13,
      acknowledged: 11,
      resolved: 11,
      mtta: { count: 11, p50Ms: 5 * minute },
    })
  })

  it('groups by team', () => {
    const report = incidentMetrics(
      [
        incident(from, 1, 2, { service: 'a', team: 'dba' }),
        incident(from, 3, 4, { service: 'b', team: 'dba' }),
      ],
      from,
      to,
      'team',
    )
    expect(report.groups.map((g) => [g.group, g.mtta?.meanMs])).toEqual([['dba', 2 * minute]])
  })

  it('counts incidents opened in [from, to) only', () => {
    const report = incidentMetrics(
      [incident(from - 1, 1, 2), incident(from, 1, 2), incident(to - 1, 1, 2), incident(to, 1, 2)],
      from,
      to,
      'service',
    )
    expect(report.overall.incidents).toBe(2)
  })

  it('reports no stats when there are no incidents', () => {
    expect(incidentMetrics([], from, to, 'service')).toEqual({
      from,
      to,
      groupBy: 'service',
      groups: [],
      overall: { group: 'all', incidents: 0, acknowledged: 0, resolved: 0 },
    })
  })

  it('leaves a reopened incident out of MTTR until it is resolved again', () => {
    const reopened = incident(from, 1, undefined, { status: 'triggered' })
    expect(incidentMetrics([reopened], from, to, 'service').overall.resolved).toBe(0)
  })
})
