import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redactChannelSpec } from '../channels/index.js'
import { httpProbe } from '../checks/http.js'
import { formatApplyPlan } from '../cli/format.js'
import { keepRedactedUrlPasswords, redactSecrets } from '../config/redact.js'
import { planChanges, redactPaths, redactUserinfoPassword } from '../core/config/index.js'
import type { ApplyPlan } from '../services/apply.js'
import { exportConfig } from '../services/export.js'
import { listAudit } from '../store/audit.js'
import { getMonitor } from '../store/monitors.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

const password = 's3cret-basic-pw'
const headerSecret = 'Bearer header-s3cret'
const urlPassword = 'url-s3cret-pw'
const dsnPassword = 'dsn-s3cret-pw'

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

  it.skipIf(kind.skipReason)(
    'keeps whole secret fields across a round trip of the redacted view, and never stores the placeholder',
    async () => {
      const { port } = server.address() as AddressInfo
      const spec = {
        type: 'http',
        url: `http://127.0.0.1:${port}/health`,
        headers: { 'X-Token': headerSecret },
        basicAuth: { username: 'keel', password },
      }
      const send = (method: 'POST' | 'PUT', path: string, payload: object) =>
        h.app.inject({ method, url: path, headers: h.as('operator'), payload })
      expect((await send('POST', '/api/v1/monitors', { id: 'trip', ...spec })).statusCode).toBe(201)
      const view = await h.app.inject({ url: '/api/v1/monitors/trip', headers: h.as('viewer') })
      expect(view.json().spec).toMatchObject({
        headers: '<redacted>',
        basicAuth: { password: '<redacted>' },
      })

      // The view saved back with a new interval keeps both secrets, and the check still logs in.
      const saved = await send('PUT', '/api/v1/monitors/trip', {
        ...view.json().spec,
        interval: '2m',
      })
      expect(saved.statusCode).toBe(200)
      const stored = (await getMonitor(h.store.db, 'trip'))?.spec
      expect(stored).toMatchObject({ ...spec, interval: '2m' })
      const checked = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors/trip/check',
        headers: h.as('responder'),
      })
      expect(checked.json().status).toBe('up')

      // Pointing the kept password at another target, or a new monitor, is refused by name.
      for (const [method, path, payload] of [
        ['PUT', '/api/v1/monitors/trip', { ...view.json().spec, url: 'http://127.0.0.1:1/' }],
        ['POST', '/api/v1/monitors', { ...view.json().spec, id: 'copy' }],
      ] as const) {
        const refused = await send(method, path, payload)
        expect(refused.statusCode).toBe(400)
        expect(refused.json().error.message).toContain(
          'basicAuth.password: shows as <redacted>; type the secret again',
        )
        expect(refused.json().error.details).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ path: 'headers' }),
            expect.objectContaining({ path: 'basicAuth.password' }),
          ]),
        )
      }
      expect((await getMonitor(h.store.db, 'trip'))?.spec).toEqual(stored)
      expect(await getMonitor(h.store.db, 'copy')).toBeFalsy()
    },
  )

  it.skipIf(kind.skipReason)(
    'keeps URL passwords out of views, the audit trail and the export, and across round trips',
    async () => {
      const { port } = server.address() as AddressInfo
      const url = `http://keel:${urlPassword}@127.0.0.1:${port}/health`
      const shown = `http://keel:<redacted>@127.0.0.1:${port}/health`
      const dsn = `postgres://keel:${dsnPassword}@127.0.0.1:1/app`
      const send = (method: 'POST' | 'PUT', path: string, payload: object) =>
        h.app.inject({ method, url: path, headers: h.as('operator'), payload })
      const bodies: string[] = []

      const created = await send('POST', '/api/v1/monitors', { id: 'creds', type: 'http', url })
      expect(created.statusCode).toBe(201)
      expect(created.json().spec.url).toBe(shown)
      const database = await send('POST', '/api/v1/monitors', {
        id: 'creds-db',
        type: 'postgres',
        url: dsn,
        paused: true,
      })
      expect(database.statusCode).toBe(201)
      expect(database.json().spec.url).toBe('<redacted>')
      bodies.push(created.body, database.body)

      // Saving the redacted view back (here with a new interval) keeps the stored password.
      const view = await h.app.inject({ url: '/api/v1/monitors/creds', headers: h.as('viewer') })
      bodies.push(
        view.body,
        (await h.app.inject({ url: '/api/v1/monitors', headers: h.as('viewer') })).body,
      )
      expect(view.json().spec.url).toBe(shown)
      const roundTrip = await send('PUT', '/api/v1/monitors/creds', {
        ...view.json().spec,
        interval: '2m',
      })
      expect(roundTrip.statusCode).toBe(200)
      expect(roundTrip.json().spec).toMatchObject({ url: shown, interval: '2m' })
      bodies.push(roundTrip.body)
      expect((await getMonitor(h.store.db, 'creds'))?.spec.url).toBe(url)

      // The placeholder is no password: pointing it at another host, or a new monitor, is refused.
      for (const [method, path, payload] of [
        [
          'PUT',
          '/api/v1/monitors/creds',
          { type: 'http', url: shown.replace('/health', '/other') },
        ],
        ['PUT', '/api/v1/monitors/creds', { type: 'http', url: shown.replace('keel:', 'eve:') }],
        ['POST', '/api/v1/monitors', { id: 'copy', type: 'http', url: shown }],
      ] as const) {
        const refused = await send(method, path, payload)
        expect(refused.statusCode).toBe(400)
        expect(refused.json().error.message).toContain('url: the URL password shows as <redacted>')
        expect(refused.json().error.details).toEqual([expect.objectContaining({ path: 'url' })])
      }
      expect((await getMonitor(h.store.db, 'creds'))?.spec.url).toBe(url)

      // A new password replaces the old one.
      const changed = await send('PUT', '/api/v1/monitors/creds', {
        type: 'http',
        url: url.replace(urlPassword, `${urlPassword}-2`),
      })
      expect(changed.statusCode).toBe(200)
      bodies.push(changed.body)
      expect((await getMonitor(h.store.db, 'creds'))?.spec.url).toBe(
        url.replace(urlPassword, `${urlPassword}-2`),
      )

      const exported = await exportConfig(h.store.db)
      expect(exported).toContain(`http://keel:\${CREDS_URL_PASSWORD}@127.0.0.1:${port}/health`)
      expect(exported).toContain('${CREDS_DB_URL}')
      const audit = await listAudit(h.store.db, {})
      for (const text of [...bodies, exported, JSON.stringify(audit)]) {
        expect(text).not.toContain(urlPassword)
        expect(text).not.toContain(dsnPassword)
      }
    },
  )
})

describe('redaction helpers', () => {
  it.each([
    { url: 'https://user:secret@host/', shown: 'https://user:<redacted>@host/' },
    { url: 'https://user:se@cret@host/x?y#z', shown: 'https://user:<redacted>@host/x?y#z' },
    { url: 'postgres://u:p%40ss@db:5432/app', shown: 'postgres://u:<redacted>@db:5432/app' },
    { url: 'https://user@host/', shown: 'https://user@host/' },
    { url: 'https://user:@host/', shown: 'https://user:@host/' },
    { url: 'https://host/a:b@c', shown: 'https://host/a:b@c' },
    { url: 'https://host:8443/', shown: 'https://host:8443/' },
    { url: 'not a url user:pw@host', shown: 'not a url user:pw@host' },
  ])('shows $url as $shown', ({ url, shown }) => {
    expect(redactUserinfoPassword(url, '<redacted>')).toBe(shown)
  })

  it('redacts URL passwords in any field of a spec, and in the http probe’s target', () => {
    const spec = { type: 'http', url: 'https://u:pw@h/', more: { list: ['ftp://a:pw@b/'] } }
    expect(redactSecrets('monitors', spec)).toEqual({
      type: 'http',
      url: 'https://u:<redacted>@h/',
      more: { list: ['ftp://a:<redacted>@b/'] },
    })
    expect(spec.url).toBe('https://u:pw@h/')
    const config = httpProbe.configSchema.parse({ url: 'https://u:pw@h/' })
    expect(httpProbe.target(config)).toBe('GET https://u:<redacted>@h/')
  })

  it.each([
    {
      name: 'an unchanged URL gets its password back',
      submitted: { url: 'https://u:<redacted>@h/' },
      stored: { url: 'https://u:pw@h/' },
      spec: { url: 'https://u:pw@h/' },
      unresolved: [],
    },
    {
      name: 'a URL on another host does not',
      submitted: { url: 'https://u:<redacted>@evil/' },
      stored: { url: 'https://u:pw@h/' },
      spec: { url: 'https://u:<redacted>@evil/' },
      unresolved: ['url'],
    },
    {
      name: 'nor a URL at another path of the spec',
      submitted: { other: 'https://u:<redacted>@h/' },
      stored: { url: 'https://u:pw@h/' },
      spec: { other: 'https://u:<redacted>@h/' },
      unresolved: ['other'],
    },
    {
      name: 'a URL with a new password is kept as sent',
      submitted: { url: 'https://u:new@h/' },
      stored: { url: 'https://u:pw@h/' },
      spec: { url: 'https://u:new@h/' },
      unresolved: [],
    },
  ])('$name', ({ submitted, stored, spec, unresolved }) => {
    expect(keepRedactedUrlPasswords(submitted, stored)).toEqual({ spec, unresolved })
  })

  it('keeps URL passwords out of the apply plan that start-up logs', () => {
    const monitors = planChanges(
      { web: { type: 'http', url: 'https://u:old-pw@h/' } },
      { web: { type: 'http', url: 'https://u:new-pw@h/' } },
    )
    const empty = planChanges({}, {})
    const lines = formatApplyPlan({ monitors, channels: empty } as unknown as ApplyPlan)
    expect(lines.join('\n')).toContain('url "https://u:<redacted>@h/" → "https://u:<redacted>@h/"')
    expect(lines.join('\n')).not.toMatch(/old-pw|new-pw/)
  })

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
