import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprint, type AlertEvent } from '../core/alerts/index.js'
import { processAlertEvents } from '../engine/alert-pipeline.js'
import { writeAlertingSection } from '../services/alerting.js'
import { getAlert } from '../store/alerts.js'
import { listAudit } from '../store/audit.js'
import { listIncidents } from '../store/incidents.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

const labels = { alertname: 'DiskFull', service: 'files', host: 'a', severity: 'warning' }

function alert(status: 'firing' | 'resolved', at: number): AlertEvent {
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: { summary: 'disk full' },
    status,
    at,
    source: 'generic',
  }
}

describe.each(apiStoreKinds)('silences and maintenance API on $name', ({ kind }) => {
  let h: ApiHarness

  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
    await writeAlertingSection(h.store.db, {
      maintenance: [
        {
          id: 'nightly',
          title: 'Nightly backup window',
          matchers: ['service="backup"'],
          timeZone: 'UTC',
          recurring: { days: ['mon', 'tue'], from: '01:00', to: '02:00' },
        },
      ],
    })
  }, 60_000)
  afterAll(async () => h?.close())

  it.skipIf(kind.skipReason)(
    'creates, lists and expires silences; roles and bad bodies',
    async () => {
      const body = { matchers: ['service="files"'], duration: '1h', comment: 'swap disk' }
      const denied = await h.app.inject({
        method: 'POST',
        url: '/api/v1/silences',
        headers: h.as('responder'),
        payload: body,
      })
      expect(denied.statusCode).toBe(403)

      const bad = await h.app.inject({
        method: 'POST',
        url: '/api/v1/silences',
        headers: h.as('operator'),
        payload: { matchers: 'service=', comment: 'x' },
      })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().error.message).toMatch(/matchers/)

      const created = await h.app.inject({
        method: 'POST',
        url: '/api/v1/silences',
        headers: h.as('operator'),
        payload: body,
      })
      expect(created.statusCode).toBe(201)
      const silence = created.json()
      expect(silence).toMatchObject({
        matchers: ['service="files"'],
        comment: 'swap disk',
        state: 'active',
        startsAt: new Date(h.clock.now()).toISOString(),
        endsAt: new Date(h.clock.now() + 3_600_000).toISOString(),
      })
      expect(h.changes.at(-1)).toBe('alerts')

      // A firing alert it covers is muted and opens no incident.
      await h.store.db
        .transaction()
        .execute((trx) =>
          processAlertEvents(trx, [alert('firing', h.clock.now())], { now: h.clock.now() }),
        )
      expect((await getAlert(h.store.db, fingerprint(labels)))?.suppressedBy).toBe(
        `silence:${silence.id}`,
      )
      expect(await listIncidents(h.store.db, {})).toEqual([])

      const list = await h.app.inject({
        method: 'GET',
        url: '/api/v1/silences?state=active',
        headers: h.as('viewer'),
      })
      expect(list.json().silences.map((s: { id: string }) => s.id)).toEqual([silence.id])

      // Expiring it releases the alert at once: an incident opens.
      h.clock.advance(60_000)
      const expired = await h.app.inject({
        method: 'DELETE',
        url: `/api/v1/silences/${silence.id}`,
        headers: h.as('operator'),
      })
      expect(expired.statusCode).toBe(200)
      expect(expired.json().state).toBe('expired')
      expect((await getAlert(h.store.db, fingerprint(labels)))?.suppressedBy).toBeUndefined()
      expect(await listIncidents(h.store.db, { status: 'open' })).toHaveLength(1)

      const audit = await listAudit(h.store.db, { objectType: 'silence' })
      expect(audit.map((a) => a.action).sort()).toEqual(['silence.create', 'silence.expire'])

      const missing = await h.app.inject({
        method: 'DELETE',
        url: '/api/v1/silences/nope',
        headers: h.as('operator'),
      })
      expect(missing.statusCode).toBe(404)
    },
  )

  it.skipIf(kind.skipReason)('silences one alert in one click', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: `/api/v1/alerts/${fingerprint(labels)}/silence`,
      headers: h.as('operator'),
      payload: { duration: '30m' },
    })
    expect(response.statusCode).toBe(201)
    expect(response.json()).toMatchObject({
      matchers: ['alertname="DiskFull"', 'host="a"', 'service="files"', 'severity="warning"'],
      comment: 'silenced from alert DiskFull',
    })
    expect((await getAlert(h.store.db, fingerprint(labels)))?.suppressedBy).toBe(
      `silence:${response.json().id}`,
    )
    const unknown = await h.app.inject({
      method: 'POST',
      url: '/api/v1/alerts/0000/silence',
      headers: h.as('operator'),
    })
    expect(unknown.statusCode).toBe(404)
  })

  it.skipIf(kind.skipReason)('lists, creates and deletes maintenance windows', async () => {
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/maintenance',
      headers: h.as('operator'),
      payload: {
        id: 'db-upgrade',
        title: 'PostgreSQL 17 upgrade',
        matchers: 'service="db-main"',
        timeZone: 'Europe/Berlin',
        oneOff: { start: '2024-05-02T22:00', end: '2024-05-03T01:00' },
        public: true,
      },
    })
    expect(created.statusCode).toBe(201)
    expect(created.json()).toMatchObject({
      id: 'db-upgrade',
      state: 'scheduled',
      source: 'api',
      oneOff: { start: '2024-05-02T20:00:00.000Z', end: '2024-05-02T23:00:00.000Z' },
    })

    const list = await h.app.inject({
      method: 'GET',
      url: '/api/v1/maintenance',
      headers: h.as('viewer'),
    })
    expect(
      list.json().windows.map((w: { id: string; source: string }) => [w.id, w.source]),
    ).toEqual([
      ['nightly', 'config'],
      ['db-upgrade', 'api'],
    ])

    const fromConfig = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/maintenance/nightly',
      headers: h.as('operator'),
    })
    expect(fromConfig.statusCode).toBe(400)
    expect(fromConfig.json().error.message).toMatch(/keel.yaml/)

    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/v1/maintenance',
      headers: h.as('operator'),
      payload: { title: 'x', matchers: 'service="a"', timeZone: 'Mars/Olympus' },
    })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.message).toMatch(/timeZone/)

    const deleted = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/maintenance/db-upgrade',
      headers: h.as('operator'),
    })
    expect(deleted.statusCode).toBe(204)
  })
})
