import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { parseConfigText } from '../config/load.js'
import { fingerprint, type AlertEvent } from '../core/alerts/index.js'
import { InputError } from '../core/errors.js'
import { processAlertEvents } from '../engine/alert-pipeline.js'
import { retriggerExpiredAcks } from '../engine/incidents.js'
import { recordOutcomes } from '../engine/recorder.js'
import { recordedMonitor } from '../engine/scheduler.js'
import { parseMonitorSpec } from '../checks/registry.js'
import type { CheckStatus } from '../core/checks/index.js'
import type { Store } from '../store/dialect.js'
import { getIncident, listIncidents } from '../store/incidents.js'
import { getMonitor, insertMonitor } from '../store/monitors.js'
import { executeApply, type DesiredState } from './apply.js'
import type { ServiceContext } from './context.js'
import { acknowledgeIncident } from './incidents.js'
import type { OncallSectionsInput } from './oncall.js'

const minute = 60_000
const second = 1_000
const t0 = Date.UTC(2026, 2, 2, 9, 0, 0)

const oncall: OncallSectionsInput = {
  users: { ann: { name: 'Ann' } },
  schedules: {},
  teams: { dba: { members: ['ann'] }, web: { members: ['ann'] } },
  escalationPolicies: {
    dba: { levels: [{ targets: [{ user: 'ann' }] }], ackTimeout: '5m' },
    web: { levels: [{ targets: [{ user: 'ann' }] }] },
  },
  routes: {
    match: [
      { matchers: ['team="dba"'], escalationPolicy: 'dba' },
      { matchers: ['team="web"'], escalationPolicy: 'web' },
    ],
  },
}

function desired(incidents: Record<string, unknown> | undefined): DesiredState {
  return {
    monitors: {},
    channels: {},
    sources: { monitors: {}, channels: {} },
    settings: { defaultChannels: [] },
    oncall,
    ...(incidents !== undefined ? { incidents } : {}),
  }
}

const alert = (service: string, team: string, status: 'firing' | 'resolved'): AlertEvent => {
  const labels = { alertname: 'HighErrorRate', service, team, severity: 'critical' }
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: { summary: `${service} errors` },
    status,
    at: t0,
    source: 'alertmanager',
  }
}

describe('the incidents section of keel.yaml', () => {
  it('defaults to auto-resolve and a 30 minute acknowledgement timeout', () => {
    const loaded = parseConfigText('monitors: {}', { file: 'keel.yaml', env: {} })
    expect(loaded.ok && loaded.config.incidents).toEqual({
      autoResolve: true,
      ackTimeout: 30 * minute,
    })
  })

  it.each([
    ['off', 0],
    ['0', 0],
    [0, 0],
    ['1h', 60 * minute],
  ])('reads ackTimeout %j as %d ms', (ackTimeout, ms) => {
    const yaml = `incidents: { ackTimeout: ${JSON.stringify(ackTimeout)} }`
    const loaded = parseConfigText(yaml, { file: 'keel.yaml', env: {} })
    expect(loaded.ok && loaded.config.incidents.ackTimeout).toBe(ms)
  })

  it.each([
    [
      'ackTimeout: 5 minutes',
      'incidents.ackTimeout',
      /a duration from 1m to 7d, or off, got "5 minutes"/,
    ],
    ['ackTimeout: 30s', 'incidents.ackTimeout', /got 30s/],
    ['ackTimeout: 8d', 'incidents.ackTimeout', /got 8d/],
    ['autoResolve: sometimes', 'incidents.autoResolve', /expected true or false/],
    ['autoResolv: false', 'incidents.autoResolv', /./],
  ])('names the field when %s is invalid', (line, path, message) => {
    const loaded = parseConfigText(`incidents:\n  ${line}\n`, { file: 'keel.yaml', env: {} })
    expect(loaded.ok).toBe(false)
    const issues = loaded.ok ? [] : loaded.issues
    expect(issues.map((issue) => issue.path)).toEqual([path])
    expect(issues[0]?.message).toMatch(message)
  })
})

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`incident settings on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    let now = t0
    const clock = { now: () => now }
    const admin = (): ServiceContext => ({
      db: store.db,
      clock,
      actor: { name: 'config', role: 'admin' },
    })
    const responder = (): ServiceContext => ({
      db: store.db,
      clock,
      actor: { name: 'ann', role: 'responder' },
    })
    const apply = (incidents?: Record<string, unknown>) => executeApply(admin(), desired(incidents))
    const ingest = (event: AlertEvent, at: number) => {
      now = at
      return store.db
        .transaction()
        .execute((trx) => processAlertEvents(trx, [{ ...event, at }], { now: at }))
    }
    const incidentOf = async (service: string) =>
      (await listIncidents(store.db, {})).find((i) => i.service === service)!

    beforeEach(async () => {
      now = t0
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
    })
    afterEach(async () => cleanup())

    it('keeps an incident open when its alerts resolve and autoResolve is off', async () => {
      await apply({ autoResolve: false })
      await ingest(alert('checkout', 'web', 'firing'), t0)
      await ingest(alert('checkout', 'web', 'resolved'), t0 + 2 * minute)
      const kept = await incidentOf('checkout')
      expect(kept).toMatchObject({ status: 'triggered', autoResolve: false })

      // Monitors' alerts take the same path (the recorder), and so does a reload turning it back on.
      await insertMonitor(
        store.db,
        {
          slug: 'db',
          type: 'http',
          spec: { type: 'http', url: 'http://127.0.0.1:1/', retries: 0, labels: { service: 'db' } },
          source: 'api',
          paused: false,
        },
        t0,
        t0,
      )
      const check = async (at: number, status: CheckStatus) => {
        const row = (await getMonitor(store.db, 'db'))!
        const parsed = parseMonitorSpec(row.spec)
        if (!parsed.ok) throw new Error('bad spec')
        const monitor = recordedMonitor(row, parsed.spec)
        const outcome = { status, latencyMs: 1, message: status }
        await recordOutcomes(
          store.db,
          [{ monitor, outcome, checkedAt: at, nextDueAt: at + minute }],
          { defaultChannels: [], now: at },
        )
      }
      await check(t0 + 3 * minute, 'down')
      await check(t0 + 4 * minute, 'up')
      expect(await incidentOf('db')).toMatchObject({ status: 'triggered', autoResolve: false })

      await apply({})
      await ingest(alert('search', 'web', 'firing'), t0 + 5 * minute)
      await ingest(alert('search', 'web', 'resolved'), t0 + 6 * minute)
      expect(await incidentOf('search')).toMatchObject({ status: 'resolved', autoResolve: true })
    })

    it('re-triggers an incident acknowledged under a policy with its own ackTimeout after exactly that long', async () => {
      await apply({ ackTimeout: '20m' })
      await ingest(alert('db-main', 'dba', 'firing'), t0)
      await ingest(alert('shop', 'web', 'firing'), t0)
      const db = await incidentOf('db-main')
      const shop = await incidentOf('shop')

      now = t0 + minute
      await acknowledgeIncident(responder(), db.id)
      await acknowledgeIncident(responder(), shop.id)
      // The dba policy says 5m; the web policy has none, so the incidents section's 20m holds.
      expect(await getIncident(store.db, db.id)).toMatchObject({
        status: 'acknowledged',
        ackTimeoutMs: 5 * minute,
        ackTimeoutAt: t0 + 6 * minute,
      })
      expect((await getIncident(store.db, shop.id))?.ackTimeoutAt).toBe(t0 + 21 * minute)

      expect(await retriggerExpiredAcks(store.db, t0 + 6 * minute - second)).toEqual([])
      expect((await getIncident(store.db, db.id))?.status).toBe('acknowledged')

      const retriggered = await retriggerExpiredAcks(store.db, t0 + 6 * minute)
      expect(retriggered.map((c) => c.incident.id)).toEqual([db.id])
      expect((await getIncident(store.db, db.id))?.status).toBe('triggered')
      expect((await getIncident(store.db, shop.id))?.status).toBe('acknowledged')

      expect(await retriggerExpiredAcks(store.db, t0 + 21 * minute - second)).toEqual([])
      const later = await retriggerExpiredAcks(store.db, t0 + 21 * minute)
      expect(later.map((c) => c.incident.id)).toEqual([shop.id])
    })

    it('never re-triggers when ackTimeout is off and no policy sets one', async () => {
      await apply({ ackTimeout: 'off' })
      await ingest(alert('shop', 'web', 'firing'), t0)
      const shop = await incidentOf('shop')
      now = t0 + minute
      const acked = await acknowledgeIncident(responder(), shop.id)
      expect(acked.ackTimeoutAt).toBeUndefined()
      expect(await retriggerExpiredAcks(store.db, t0 + 7 * 24 * 60 * minute)).toEqual([])
    })

    it('refuses a bad section at apply time, naming the field, and keeps the applied one', async () => {
      await apply({ autoResolve: false })
      const error = await apply({ ackTimeout: '10s' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InputError)
      expect((error as InputError).message).toMatch(/^incidents\.ackTimeout: must be a duration/)
      await ingest(alert('checkout', 'web', 'firing'), t0)
      expect((await incidentOf('checkout')).autoResolve).toBe(false)
    })
  })
}
