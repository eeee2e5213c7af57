import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

describe.each(apiStoreKinds)('/api/v1/integrations on $name', ({ kind }) => {
  let h: ApiHarness
  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
  }, 60_000)
  afterAll(async () => h?.close())

  async function create(body: object) {
    return h.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: h.as('admin'),
      payload: body,
    })
  }

  it.skipIf(kind.skipReason)(
    'lets operators create an integration and shows its key once',
    async () => {
      const response = await create({
        id: 'zabbix',
        kind: 'pagerduty',
        name: 'Zabbix',
        labels: { team: 'network' },
      })
      expect(response.statusCode).toBe(201)
      const body = response.json()
      expect(body).toMatchObject({
        id: 'zabbix',
        kind: 'pagerduty',
        name: 'Zabbix',
        labels: { team: 'network' },
        disabled: false,
        key: expect.stringMatching(/^[0-9a-f]{32}$/),
      })
      expect(body.endpoints.map((e: { url: string }) => e.url)).toEqual([
        '/v2/enqueue',
        '/ingest/pagerduty/v2/enqueue',
      ])
      const one = await h.app.inject({
        url: '/api/v1/integrations/zabbix',
        headers: h.as('operator'),
      })
      expect(one.statusCode).toBe(200)
      expect(one.body).not.toContain(body.key)
      const list = await h.app.inject({ url: '/api/v1/integrations', headers: h.as('operator') })
      expect(list.json().items.map((i: { id: string }) => i.id)).toContain('zabbix')
      expect(list.body).not.toContain(body.key)
    },
  )

  it.skipIf(kind.skipReason)('keeps integrations from viewers and responders', async () => {
    for (const role of ['viewer', 'responder'] as const) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/api/v1/integrations',
        headers: h.as(role),
        payload: { id: `by-${role}`, kind: 'generic' },
      })
      expect(response.statusCode).toBe(403)
      const list = await h.app.inject({ url: '/api/v1/integrations', headers: h.as(role) })
      expect(list.statusCode).toBe(403)
    }
    expect((await h.app.inject({ url: '/api/v1/integrations' })).statusCode).toBe(401)
  })

  it.skipIf(kind.skipReason)(
    'lets operators read integrations but only admins manage them',
    async () => {
      const created = await h.app.inject({
        method: 'POST',
        url: '/api/v1/integrations',
        headers: h.as('operator'),
        payload: { id: 'by-operator', kind: 'generic' },
      })
      expect(created.statusCode).toBe(403)
      expect(created.json().error.message).toContain('needs admin')
      for (const request of [
        { method: 'PATCH' as const, url: '/api/v1/integrations/zabbix', payload: { name: 'x' } },
        { method: 'POST' as const, url: '/api/v1/integrations/zabbix/rotate-key' },
        { method: 'DELETE' as const, url: '/api/v1/integrations/zabbix' },
      ]) {
        const response = await h.app.inject({ ...request, headers: h.as('operator') })
        expect(response.statusCode).toBe(403)
      }
      const list = await h.app.inject({ url: '/api/v1/integrations', headers: h.as('operator') })
      expect(list.statusCode).toBe(200)
    },
  )

  it.skipIf(kind.skipReason)(
    'refuses bad input with 400 naming the field, and a duplicate with 409',
    async () => {
      const badId = await create({ id: 'Not A Slug', kind: 'generic' })
      expect(badId.statusCode).toBe(400)
      expect(badId.json().error.message).toContain('id must be a slug')
      const badKind = await create({ id: 'x', kind: 'nagios' })
      expect(badKind.statusCode).toBe(400)
      expect(badKind.json().error.message).toContain('kind')
      const badLabel = await create({ id: 'x', kind: 'generic', labels: { 'team-name': 'a' } })
      expect(badLabel.statusCode).toBe(400)
      expect(badLabel.json().error.message).toContain('labels["team-name"] is not a label name')
      expect((await create({ id: 'dup', kind: 'generic' })).statusCode).toBe(201)
      const dup = await create({ id: 'dup', kind: 'generic' })
      expect(dup.statusCode).toBe(409)
    },
  )

  it.skipIf(kind.skipReason)('disables, re-keys, lists received events and deletes', async () => {
    const created = (await create({ id: 'scripts', kind: 'generic' })).json()
    const send = (key: string, alertname: string) =>
      h.app.inject({
        method: 'POST',
        url: `/ingest/generic/${key}`,
        payload: { labels: { alertname } },
      })
    expect((await send(created.key, 'One')).statusCode).toBe(200)
    expect((await send(created.key, 'Two')).statusCode).toBe(200)

    const off = await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/integrations/scripts',
      headers: h.as('admin'),
      payload: { disabled: true, labels: { owner: 'ops' } },
    })
    expect(off.json()).toMatchObject({ disabled: true, labels: { owner: 'ops' } })
    expect((await send(created.key, 'Three')).statusCode).toBe(403)
    await h.app.inject({
      method: 'PATCH',
      url: '/api/v1/integrations/scripts',
      headers: h.as('admin'),
      payload: { disabled: false },
    })

    const rotated = await h.app.inject({
      method: 'POST',
      url: '/api/v1/integrations/scripts/rotate-key',
      headers: h.as('admin'),
    })
    expect(rotated.statusCode).toBe(200)
    expect(rotated.json().key).not.toBe(created.key)
    expect((await send(created.key, 'Four')).statusCode).toBe(401)
    expect((await send(rotated.json().key, 'Four')).statusCode).toBe(200)

    const page = await h.app.inject({
      url: '/api/v1/integrations/scripts/events?limit=2',
      headers: h.as('operator'),
    })
    expect(page.statusCode).toBe(200)
    expect(
      page
        .json()
        .items.map(
          (e: { payload: { labels: { alertname: string } } }) => e.payload.labels.alertname,
        ),
    ).toEqual(['Four', 'Two'])
    expect(page.json().items[0]).toMatchObject({ kind: 'generic', status: 'opened' })
    const next = await h.app.inject({
      url: `/api/v1/integrations/scripts/events?limit=2&before=${page.json().next}`,
      headers: h.as('operator'),
    })
    expect(next.json().items).toHaveLength(1)
    expect(next.json().next).toBeUndefined()

    const deleted = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/integrations/scripts',
      headers: h.as('admin'),
    })
    expect(deleted.statusCode).toBe(204)
    expect((await send(rotated.json().key, 'Five')).statusCode).toBe(401)
    for (const request of [
      { method: 'GET' as const, url: '/api/v1/integrations/scripts' },
      { method: 'DELETE' as const, url: '/api/v1/integrations/scripts' },
      { method: 'GET' as const, url: '/api/v1/integrations/scripts/events' },
      { method: 'POST' as const, url: '/api/v1/integrations/scripts/rotate-key' },
    ]) {
      const response = await h.app.inject({ ...request, headers: h.as('admin') })
      expect(response.statusCode).toBe(404)
      expect(response.json().error.message).toBe('integration scripts does not exist')
    }
  })
})
