import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { fingerprint, type AlertEvent } from '../core/alerts/index.js'
import { NotAllowedError } from '../core/errors.js'
import { processAlertEvents } from '../engine/alert-pipeline.js'
import type { Store } from '../store/dialect.js'
import {
  createCatalogEntity,
  deleteCatalogEntity,
  getCatalogEntity,
  importBackstageFile,
  updateCatalogEntity,
} from './catalog.js'
import type { Actor, ServiceContext } from './context.js'
import { RunOutputHub, startRunbookRun } from './runbooks.js'
import {
  acknowledgeIncident,
  addIncidentNote,
  reassignIncident,
  setIncidentRoles,
  setIncidentSeverity,
} from './incidents.js'

const t0 = Date.UTC(2026, 11, 6, 4, 0, 0)

const dbaResponder: Actor = { name: 'ann', role: 'responder', teams: { dba: 'responder' } }
const dbaOperator: Actor = { name: 'bob', role: 'operator', teams: { dba: 'operator' } }
const unscoped: Actor = { name: 'root', role: 'admin' }

function firing(labels: Record<string, string>): AlertEvent {
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: {},
    status: 'firing',
    at: t0,
    source: 'test',
  }
}

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(`team scope on ${kind.name}`, () => {
    let store: Store
    let cleanup: () => Promise<void>
    const ctx = (actor: Actor): ServiceContext => ({
      db: store.db,
      clock: { now: () => t0 },
      actor,
    })

    beforeEach(async () => {
      const created = await kind.create()
      store = created.store
      cleanup = created.cleanup
    })
    afterEach(async () => cleanup())

    it('lets a team-scoped responder answer only its own team’s incidents', async () => {
      const processed = await store.db
        .transaction()
        .execute((trx) =>
          processAlertEvents(
            trx,
            [
              firing({ alertname: 'Replication', service: 'db-main', team: 'dba' }),
              firing({ alertname: 'Latency', service: 'web', team: 'web' }),
              firing({ alertname: 'Cron', service: 'batch' }),
            ],
            { now: t0 },
          ),
        )
      const [dba, web, none] = processed.map((p) => p.incident?.incident.id as number)

      expect((await acknowledgeIncident(ctx(dbaResponder), dba as number)).status).toBe(
        'acknowledged',
      )
      await expect(acknowledgeIncident(ctx(dbaResponder), web as number)).rejects.toThrow(
        /scoped to team dba; incident #\d+ belongs to team web/,
      )
      await expect(
        addIncidentNote(ctx(dbaResponder), web as number, { text: 'mine now' }),
      ).rejects.toBeInstanceOf(NotAllowedError)
      await expect(
        setIncidentRoles(ctx(dbaResponder), web as number, { commander: 'ann' }),
      ).rejects.toBeInstanceOf(NotAllowedError)
      await expect(acknowledgeIncident(ctx(dbaResponder), none as number)).rejects.toThrow(
        /has no team/,
      )
      // Without a scope the role alone decides.
      expect((await acknowledgeIncident(ctx(unscoped), web as number)).status).toBe('acknowledged')
    })

    it('needs an operator in the team to reassign, set roles or change severity', async () => {
      // Operator in dba, only responder in web: the route lets an operator in, the team decides.
      const mixed: Actor = {
        name: 'cy',
        role: 'operator',
        teams: { dba: 'operator', web: 'responder' },
      }
      const processed = await store.db
        .transaction()
        .execute((trx) =>
          processAlertEvents(
            trx,
            [
              firing({ alertname: 'Replication', service: 'db-main', team: 'dba' }),
              firing({ alertname: 'Latency', service: 'web', team: 'web' }),
            ],
            { now: t0 },
          ),
        )
      const [dba, web] = processed.map((p) => p.incident?.incident.id as number) as [number, number]
      const needsOperator = /has role responder in team web; changing incident #\d+ needs operator/
      await expect(reassignIncident(ctx(mixed), web, { to: 'cy' })).rejects.toThrow(needsOperator)
      await expect(setIncidentRoles(ctx(mixed), web, { commander: 'cy' })).rejects.toThrow(
        needsOperator,
      )
      await expect(setIncidentSeverity(ctx(mixed), web, { severity: 'critical' })).rejects.toThrow(
        needsOperator,
      )
      expect((await acknowledgeIncident(ctx(mixed), web)).status).toBe('acknowledged')
      expect((await reassignIncident(ctx(mixed), dba, { to: 'cy' })).assignee).toBe('cy')
    })

    it('lets a team-scoped operator edit only catalog entities its team owns', async () => {
      await createCatalogEntity(ctx(unscoped), 'web', { kind: 'service', owner: 'web' })
      await createCatalogEntity(ctx(dbaOperator), 'db-main', { kind: 'database', owner: 'dba' })

      await expect(
        createCatalogEntity(ctx(dbaOperator), 'cache', { kind: 'service', owner: 'web' }),
      ).rejects.toThrow(/belongs to team web/)
      await expect(
        updateCatalogEntity(ctx(dbaOperator), 'web', { kind: 'service', owner: 'dba' }),
      ).rejects.toThrow(/catalog entity web belongs to team web/)
      // Handing its own entity to another team would take it out of reach: refused too.
      await expect(
        updateCatalogEntity(ctx(dbaOperator), 'db-main', { kind: 'database', owner: 'web' }),
      ).rejects.toBeInstanceOf(NotAllowedError)
      await expect(deleteCatalogEntity(ctx(dbaOperator), 'web')).rejects.toBeInstanceOf(
        NotAllowedError,
      )
      const backstage = [
        'apiVersion: backstage.io/v1alpha1',
        'kind: Component',
        'metadata: { name: web }',
        'spec: { type: service, lifecycle: production, owner: dba }',
      ].join('\n')
      await expect(
        importBackstageFile(ctx(dbaOperator), backstage, 'catalog-info.yaml'),
      ).rejects.toBeInstanceOf(NotAllowedError)
      expect((await getCatalogEntity(ctx(unscoped), 'web')).owner).toBe('web')

      const updated = await updateCatalogEntity(ctx(dbaOperator), 'db-main', {
        kind: 'database',
        owner: 'dba',
        tier: 1,
      })
      expect(updated.owner).toBe('dba')
      await deleteCatalogEntity(ctx(dbaOperator), 'db-main')
    })

    it('lets a team-scoped responder attach a runbook run only to its own team’s incidents', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keel-team-runbook-'))
      try {
        writeFileSync(
          join(dir, 'look.md'),
          '---\ntitle: Look\n---\n## Step: look — Look\n- [ ] look\n',
        )
        const settings = { paths: [dir], hub: new RunOutputHub() }
        const processed = await store.db
          .transaction()
          .execute((trx) =>
            processAlertEvents(
              trx,
              [
                firing({ alertname: 'Replication', service: 'db-main', team: 'dba' }),
                firing({ alertname: 'Latency', service: 'web', team: 'web' }),
              ],
              { now: t0 },
            ),
          )
        const [dba, web] = processed.map((p) => p.incident?.incident.id as number)
        await expect(
          startRunbookRun(ctx(dbaResponder), settings, 'look', { incidentId: web }),
        ).rejects.toThrow(/scoped to team dba; incident #\d+ belongs to team web/)
        const own = await startRunbookRun(ctx(dbaResponder), settings, 'look', { incidentId: dba })
        expect(own.dryRun).toBe(false)
        const other = await startRunbookRun(ctx(unscoped), settings, 'look', { incidentId: web })
        expect(other.dryRun).toBe(false)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
