import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprint } from '../core/alerts/index.js'
import { processAlertEvents } from '../engine/alert-pipeline.js'
import { upsertEntity } from '../store/catalog.js'
import { insertMonitor } from '../store/monitors.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

describe.each(apiStoreKinds)('/api/v1/catalog on $name', ({ kind }) => {
  let h: ApiHarness
  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
    const now = h.clock.now()
    // A config-managed entity, as `keel apply` stores it.
    await upsertEntity(
      h.store.db,
      {
        id: 'db-host-1',
        spec: { kind: 'host', labels: {}, links: [], dependsOn: [], runbooks: [] },
        source: 'file:keel.yaml',
      },
      now,
    )
    for (const [slug, labels, state] of [
      ['db-main-tcp', { entity: 'db-main' }, 'down'],
      ['api-health', { service: 'api' }, 'up'],
      ['api-latency', { service: 'api' }, 'degraded'],
    ] as const) {
      const monitor = await insertMonitor(
        h.store.db,
        {
          slug,
          type: 'tcp',
          spec: { type: 'tcp', host: '127.0.0.1', port: 1, labels },
          source: 'api',
          paused: false,
        },
        now,
        now,
      )
      await h.store.db.updateTable('monitors').set({ state }).where('id', '=', monitor.id).execute()
    }
  }, 60_000)
  afterAll(async () => h?.close())

  async function send(
    method: 'POST' | 'PUT' | 'DELETE',
    url: string,
    body?: object,
    role = 'operator' as const,
  ) {
    return h.app.inject({
      method,
      url,
      headers: h.as(role),
      ...(body ? { payload: body } : {}),
    })
  }
  const get = (url: string) => h.app.inject({ url, headers: h.as('viewer') })

  it.skipIf(kind.skipReason)(
    'lets operators build a graph and viewers read it with health',
    async () => {
      expect(
        (
          await send('POST', '/api/v1/catalog', {
            id: 'db-main',
            kind: 'database',
            name: 'Main DB',
            owner: 'dba',
            tier: 1,
            dependsOn: ['db-host-1'],
          })
        ).statusCode,
      ).toBe(201)
      expect(
        (
          await send('POST', '/api/v1/catalog', {
            id: 'api',
            kind: 'service',
            owner: 'web',
            dependsOn: ['db-main'],
          })
        ).statusCode,
      ).toBe(201)
      const web = await send('POST', '/api/v1/catalog', {
        id: 'web',
        kind: 'website',
        owner: 'web',
        dependsOn: ['api'],
        links: [{ title: 'Home', url: 'https://shop.example.org' }],
      })
      expect(web.statusCode).toBe(201)
      expect(web.json()).toMatchObject({ id: 'web', source: 'api', editable: true })

      const list = await get('/api/v1/catalog')
      expect(list.statusCode).toBe(200)
      expect(
        list.json().items.map((e: { id: string; health: string }) => [e.id, e.health]),
      ).toEqual([
        ['api', 'degraded'],
        ['db-host-1', 'unknown'],
        ['db-main', 'down'],
        ['web', 'unknown'],
      ])
      const page = await get('/api/v1/catalog?limit=2')
      expect(page.json().next).toBe('db-host-1')
      const second = await get(`/api/v1/catalog?limit=2&after=${page.json().next}`)
      expect(second.json().items.map((e: { id: string }) => e.id)).toEqual(['db-main', 'web'])
      expect((await get('/api/v1/catalog?owner=web&kind=website')).json().items).toHaveLength(1)
      expect(
        (await get('/api/v1/catalog?q=main')).json().items.map((e: { id: string }) => e.id),
      ).toEqual(['db-main'])

      const one = await get('/api/v1/catalog/db-main')
      expect(one.json()).toMatchObject({
        id: 'db-main',
        health: 'down',
        monitors: [{ id: 'db-main-tcp', state: 'down' }],
        dependencies: [{ id: 'db-host-1', health: 'unknown' }],
        dependents: [{ id: 'api', health: 'degraded' }],
      })
    },
  )

  it.skipIf(kind.skipReason)(
    'shows the open incidents and firing alerts that name an entity',
    async () => {
      const now = h.clock.now()
      const alert = (labels: Record<string, string>) => ({
        fingerprint: fingerprint(labels),
        status: 'firing' as const,
        labels,
        annotations: { summary: `${labels.alertname} on ${labels.entity ?? labels.service}` },
        source: 'test',
        at: now,
      })
      await h.store.db
        .transaction()
        .execute((trx) =>
          processAlertEvents(
            trx,
            [
              alert({ alertname: 'Latency', entity: 'web', service: 'storefront' }),
              alert({ alertname: 'Errors', service: 'web' }),
              alert({ alertname: 'Other', service: 'billing' }),
            ],
            { now },
          ),
        )
      const detail = (await get('/api/v1/catalog/web')).json()
      expect(detail.firingAlerts.map((a: { summary: string }) => a.summary).sort()).toEqual([
        'Errors on web',
        'Latency on web',
      ])
      expect(detail.openIncidents.map((i: { title: string }) => i.title).sort()).toEqual([
        'Errors on web',
        'Latency on web',
      ])
      expect(detail.openIncidents[0]).toMatchObject({ status: 'triggered' })
    },
  )

  it.skipIf(kind.skipReason)('answers what is affected when db-main is down', async () => {
    const response = await get('/api/v1/catalog/db-main/impact')
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({
      entity: 'db-main',
      affected: [
        {
          id: 'api',
          name: 'api',
          kind: 'service',
          health: 'degraded',
          depth: 1,
          path: ['db-main', 'api'],
        },
        {
          id: 'web',
          name: 'web',
          kind: 'website',
          health: 'unknown',
          depth: 2,
          path: ['db-main', 'api', 'web'],
        },
      ],
    })
    expect((await get('/api/v1/catalog/ghost/impact')).statusCode).toBe(404)
  })

  it.skipIf(kind.skipReason)('draws the neighbourhood as SVG and Mermaid, to a depth', async () => {
    const svg = await get('/api/v1/catalog/api/diagram.svg?depth=1')
    expect(svg.statusCode).toBe(200)
    expect(svg.headers['content-type']).toBe('image/svg+xml; charset=utf-8')
    expect(svg.headers['cache-control']).toBe('no-store')
    const ids = [...svg.body.matchAll(/data-id="([^"]+)" data-health="(\w+)"/g)].map(
      (m) => `${m[1]}:${m[2]}`,
    )
    expect(ids.sort()).toEqual(['api:degraded', 'db-main:down', 'web:unknown'])
    const deeper = await get('/api/v1/catalog/api/diagram.svg?depth=2')
    expect(deeper.body).toContain('data-id="db-host-1"')
    const mermaid = await get('/api/v1/catalog/api/diagram.mmd')
    expect(mermaid.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(mermaid.body).toContain('flowchart LR')
    expect(mermaid.body).toContain('  e_api --> e_db_2d_main')
    expect(mermaid.body).toContain('e_db_2d_main[("Main DB<br/>database")]:::down')
    const tooDeep = await get('/api/v1/catalog/api/diagram.svg?depth=9')
    expect(tooDeep.statusCode).toBe(400)
  })

  it.skipIf(kind.skipReason)(
    'refuses unknown references, cycles and bad fields with the field and the fix',
    async () => {
      const unknown = await send('POST', '/api/v1/catalog', {
        id: 'batch',
        kind: 'service',
        dependsOn: ['db-mian'],
      })
      expect(unknown.statusCode).toBe(400)
      expect(unknown.json().error.message).toBe(
        'entity batch depends on unknown entity db-mian; define db-mian in the catalog or remove it from dependsOn',
      )
      const cycle = await send('PUT', '/api/v1/catalog/db-main', {
        kind: 'database',
        dependsOn: ['web'],
      })
      expect(cycle.statusCode).toBe(400)
      expect(cycle.json().error.message).toContain('dependency cycle api → db-main → web → api')
      const badKind = await send('POST', '/api/v1/catalog', { id: 'x', kind: 'mainframe' })
      expect(badKind.statusCode).toBe(400)
      const badTier = await send('POST', '/api/v1/catalog', { id: 'x', kind: 'host', tier: 0 })
      expect(badTier.statusCode).toBe(400)
      expect(badTier.body).toContain('tier')
      const badId = await send('POST', '/api/v1/catalog', { id: 'Bad Id', kind: 'host' })
      expect(badId.statusCode).toBe(400)
      for (const url of ['javascript:alert(1)', 'data:text/html,x', 'vbscript:msgbox(1)']) {
        const badLink = await send('POST', '/api/v1/catalog', {
          id: 'x',
          kind: 'host',
          links: [{ title: 'Runbook', url }],
        })
        expect(badLink.statusCode).toBe(400)
        expect(badLink.body).toContain('links')
        expect(badLink.body).toContain('must be an http(s) or mailto: URL')
      }
      for (const id of ['constructor', 'prototype']) {
        const reserved = await send('POST', '/api/v1/catalog', { id, kind: 'host' })
        expect(reserved.statusCode).toBe(400)
        expect(reserved.body).toContain(`\`${id}\` cannot be a key or id`)
      }
      const taken = await send('POST', '/api/v1/catalog', { id: 'web', kind: 'website' })
      expect(taken.statusCode).toBe(409)
      // Nothing refused was stored.
      expect((await get('/api/v1/catalog')).json().items).toHaveLength(4)
    },
  )

  it.skipIf(kind.skipReason)(
    'keeps config entities read-only and needed entities in place',
    async () => {
      const put = await send('PUT', '/api/v1/catalog/db-host-1', { kind: 'host', tier: 2 })
      expect(put.statusCode).toBe(409)
      expect(put.json().error.message).toBe(
        'catalog entity db-host-1 is defined in keel.yaml; change it there and run keel apply',
      )
      expect((await send('DELETE', '/api/v1/catalog/db-host-1')).statusCode).toBe(409)
      const needed = await send('DELETE', '/api/v1/catalog/api')
      expect(needed.statusCode).toBe(409)
      expect(needed.json().error.message).toBe(
        'catalog entity api is needed by web; remove it from their dependsOn first',
      )
      expect(
        (await send('POST', '/api/v1/catalog', { id: 'tmp', kind: 'host' }, 'viewer' as never))
          .statusCode,
      ).toBe(403)
      expect(
        (await send('PUT', '/api/v1/catalog/web', { kind: 'website', tier: 3 })).json(),
      ).toMatchObject({ tier: 3 })
      expect((await send('DELETE', '/api/v1/catalog/web')).statusCode).toBe(204)
      expect((await get('/api/v1/catalog/web')).statusCode).toBe(404)
    },
  )
})
