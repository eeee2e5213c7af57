import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redactChannelSpec } from '../channels/index.js'
import { redactPaths } from '../core/config/index.js'
import { exportConfig } from '../services/export.js'
import { listAudit } from '../store/audit.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

const password = 's3cret-basic-pw'
const headerSecret = 'Bearer header-s3cret'

/** A loopback server that answers 200 only to the right basic credentials. */
function startBasicAuthServer(): Promise<Server> {
  const expected = `Basic ${Buffer.from(`keel:${password}`).toString('base64')}`
  const server = createServer((request, response) => {
    response.statusCode = request.headers.authorization === expected ? 200 : 401
    response.end()
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

describe.each(apiStoreKinds)('monitor secrets on $name', ({ kind }) => {
  let h: ApiHarness
  let server: Server
  beforeAll(async () => {
    h = await startApiHarness(kind)
    server = await startBasicAuthServer()
  }, 60_000)
  afterAll(async () => {
    await h?.close()
    server?.close()
  })

  it.skipIf(kind.skipReason)(
    'keeps nested secrets out of responses, the audit trail and the export, yet uses them',
    async () => {
      const { port } = server.address() as AddressInfo
      const spec = {
        type: 'http',
        url: `http://127.0.0.1:${port}/health`,
        headers: { 'X-Token': headerSecret },
        basicAuth: { username: 'keel', password },
      }
      const created = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors',
        headers: h.as('operator'),
        payload: { id: 'web', ...spec },
      })
      expect(created.statusCode).toBe(201)
      expect(created.json().spec.basicAuth).toEqual({ username: 'keel', password: '<redacted>' })
      expect(created.json().spec.headers).toBe('<redacted>')

      const checked = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors/web/check',
        headers: h.as('responder'),
      })
      expect(checked.statusCode).toBe(200)
      expect(checked.json().status).toBe('up')

      const bodies = [created.body, checked.body]
      for (const url of ['/api/v1/monitors', '/api/v1/monitors/web']) {
        bodies.push((await h.app.inject({ url, headers: h.as('viewer') })).body)
      }
      const updated = await h.app.inject({
        method: 'PUT',
        url: '/api/v1/monitors/web',
        headers: h.as('operator'),
        payload: { ...spec, interval: '2m' },
      })
      expect(updated.statusCode).toBe(200)
      bodies.push(updated.body)
      const exported = await exportConfig(h.store.db)
      expect(exported).toContain('${WEB_BASICAUTH_PASSWORD}')
      const deleted = await h.app.inject({
        method: 'DELETE',
        url: '/api/v1/monitors/web',
        headers: h.as('operator'),
      })
      expect(deleted.statusCode).toBe(204)

      const audit = await listAudit(h.store.db, {})
      expect(audit.map((event) => event.action)).toEqual(
        expect.arrayContaining(['monitor.create', 'monitor.update', 'monitor.delete']),
      )
      for (const text of [...bodies, exported, JSON.stringify(audit)]) {
        expect(text).not.toContain(password)
        expect(text).not.toContain(headerSecret)
      }
    },
  )
})

describe('redaction helpers', () => {
  it('redacts nested paths and leaves the input untouched', () => {
    const spec = { type: 'x', auth: { user: 'u', password: 'p' }, keep: 1 }
    expect(redactPaths(spec, ['auth.password', 'missing.field'], '<redacted>')).toEqual({
      type: 'x',
      auth: { user: 'u', password: '<redacted>' },
      keep: 1,
    })
    expect(spec.auth.password).toBe('p')
  })

  it('redacts a channel’s credentials', () => {
    const redacted = redactChannelSpec({
      type: 'webhook',
      url: 'https://hooks.example.org/in',
      secret: 'hmac-s3cret',
      headers: { Authorization: 'Bearer chan-s3cret' },
    } as never)
    expect(JSON.stringify(redacted)).not.toMatch(/s3cret/)
  })
})
