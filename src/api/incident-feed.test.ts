import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprint, type AlertEvent } from '../core/alerts/index.js'
import type { Incident } from '../core/incidents/index.js'
import { processAlertEvents } from '../engine/alert-pipeline.js'
import { acknowledgeIncident, addIncidentNote } from '../services/incidents.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { IncidentChangeFeed } from './incident-feed.js'

function firing(labels: Record<string, string>, at: number): AlertEvent {
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: { summary: `${labels.alertname} on ${labels.service}` },
    status: 'firing',
    at,
    source: 'generic',
  }
}

describe.each(apiStoreKinds)('incident change feed on $name', ({ kind }) => {
  let h: ApiHarness
  const log = pino({ level: 'silent' })

  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
  }, 60_000)
  afterAll(async () => h?.close())

  it.skipIf(kind.skipReason !== undefined)(
    'reports an opened incident, its acknowledgement and a note, once each, after the baseline',
    async () => {
      const open = (labels: Record<string, string>) =>
        h.store.db
          .transaction()
          .execute((trx) =>
            processAlertEvents(trx, [firing(labels, h.clock.now())], { now: h.clock.now() }),
          )
      await open({ alertname: 'Old', service: 'before' })
      const feed = new IncidentChangeFeed(
        { db: h.store.db, clock: h.clock, log },
        { pollMs: 60_000 },
      )
      const seen: Incident[] = []
      const stop = await feed.subscribe((incident) => seen.push(incident))
      expect(seen).toEqual([])

      h.clock.advance(1_000)
      const processed = await open({ alertname: 'DiskFull', service: 'db-main' })
      const id = processed[0]?.incident?.incident.id as number
      await feed.poll()
      await feed.poll()
      expect(seen.map((i) => [i.id, i.status])).toEqual([[id, 'triggered']])

      const ctx = { db: h.store.db, clock: h.clock, actor: { name: 'ann', role: 'admin' as const } }
      h.clock.advance(1_000)
      await acknowledgeIncident(ctx, id)
      await feed.poll()
      // A note in the same millisecond as the acknowledgement is still a change.
      await addIncidentNote(ctx, id, { text: 'looking at the disk' })
      await feed.poll()
      await feed.poll()
      expect(seen.map((i) => [i.id, i.status])).toEqual([
        [id, 'triggered'],
        [id, 'acknowledged'],
        [id, 'acknowledged'],
      ])
      stop()
    },
  )
})
