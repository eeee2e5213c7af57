import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfigText } from '../config/load.js'
import { isAddressOrCidr } from '../config/trust-proxy.js'
import { listAudit } from '../store/audit.js'
import { countLoginFailures } from '../store/sessions.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { createMetrics } from './metrics.js'
import { buildApi } from './server.js'

const csrf = { 'x-keel-csrf': '1' }

describe('keel.yaml server.trustProxy', () => {
  it('takes addresses and CIDR blocks, and defaults to trusting nobody', () => {
    const result = parseConfigText(
      'server:\n  trustProxy: [127.0.0.1/32, 10.0.0.0/8, "::1", "2001:db8::/32"]\n',
      { file: 'keel.yaml', env: {} },
    )
    expect(result.ok && result.config.server.trustProxy).toEqual([
      '127.0.0.1/32',
      '10.0.0.0/8',
      '::1',
      '2001:db8::/32',
    ])
    const none = parseConfigText('server: {}\n', { file: 'keel.yaml', env: {} })
    expect(none.ok && none.config.server.trustProxy).toEqual([])
  })

  it('names the field and the fix for an entry that is not an address', () => {
    const result = parseConfigText(
      'server:\n  trustProxy: [10.0.0.0/8, proxy.local, 10.0.0.0/33]\n',
      {
        file: 'keel.yaml',
        env: {},
      },
    )
    expect(result.ok).toBe(false)
    const issues = result.ok ? [] : result.issues
    expect(issues.map((i) => i.path)).toEqual(['server.trustProxy[1]', 'server.trustProxy[2]'])
    expect(issues[0]?.message).toContain('must be an IP address or CIDR block of a reverse proxy')
    expect(issues[0]?.message).toContain('"proxy.local"')
  })

  it.each([
    ['10.0.0.0/8', true],
    ['192.0.2.1', true],
    ['::/0', true],
    ['fe80::/129', false],
    ['10.0.0.0/', false],
    ['10.0.0/8', false],
    ['loopback', false],
  ])('%s is an address or CIDR block: %s', (text, ok) => {
    expect(isAddressOrCidr(text)).toBe(ok)
  })
})

describe.each(apiStoreKinds)('behind a reverse proxy on $name', ({ kind }) => {
  let h: ApiHarness
  let proxied: FastifyInstance
  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
    proxied = await buildApi({
      db: h.store.db,
      clock: h.clock,
      log: pino({ level: 'silent' }),
      metrics: createMetrics(),
      trustProxy: ['127.0.0.1/32'],
    })
  }, 60_000)
  afterAll(async () => {
    await proxied?.close()
    await h?.close()
  })

  function login(
    app: FastifyInstance,
    from: string,
    headers: Record<string, string>,
    user = 'nobody',
  ) {
    return app.inject({
      method: 'POST',
      url: '/api/v1/session',
      remoteAddress: from,
      headers: { ...csrf, ...headers },
      payload: { user, password: 'not the password' },
    })
  }

  async function addressKeys(): Promise<string[]> {
    const rows = await h.store.db
      .selectFrom('login_attempts')
      .select('key')
      .where('key', 'like', 'address:%')
      .execute()
    return [...new Set(rows.map((r) => r.key))].sort()
  }

  it.skipIf(kind.skipReason)(
    'ignores a spoofed X-Forwarded-For without trustProxy: the limit keys on the peer',
    async () => {
      await h.store.db.deleteFrom('login_attempts').execute()
      const spoofed = await login(h.app, '127.0.0.1', { 'x-forwarded-for': '203.0.113.99' })
      expect(spoofed.statusCode).toBe(401)
      expect(await addressKeys()).toEqual(['address:127.0.0.1'])
      const [event] = await listAudit(h.store.db, { action: 'session.login-failed', limit: 1 })
      expect(event?.source).toBe('127.0.0.1')
    },
  )

  it.skipIf(kind.skipReason)(
    'keys the login limit and the audit on the client a trusted proxy names',
    async () => {
      await h.store.db.deleteFrom('login_attempts').execute()
      const answer = await login(proxied, '127.0.0.1', {
        'x-forwarded-for': '203.0.113.50',
      })
      expect(answer.statusCode).toBe(401)
      expect(await addressKeys()).toEqual(['address:203.0.113.50'])
      const [event] = await listAudit(h.store.db, { action: 'session.login-failed', limit: 1 })
      expect(event?.source).toBe('203.0.113.50')
      // The right-most address the proxy did not add itself is the client: a client cannot
      // prepend its way out of the limit.
      await login(proxied, '127.0.0.1', { 'x-forwarded-for': '198.51.100.1, 203.0.113.50' })
      const failures = await countLoginFailures(h.store.db, ['address:203.0.113.50'], 0)
      expect(failures.get('address:203.0.113.50')?.count).toBe(2)
    },
  )

  it.skipIf(kind.skipReason)(
    'ignores forwarded headers from a peer that is not a listed proxy',
    async () => {
      await h.store.db.deleteFrom('login_attempts').execute()
      await login(proxied, '192.0.2.44', { 'x-forwarded-for': '203.0.113.51' })
      expect(await addressKeys()).toEqual(['address:192.0.2.44'])
    },
  )

  it.skipIf(kind.skipReason)(
    'marks the session cookie Secure when a trusted proxy says the client used https',
    async () => {
      const viaProxy = await proxied.inject({
        method: 'POST',
        url: '/api/v1/session',
        remoteAddress: '127.0.0.1',
        headers: { ...csrf, 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.52' },
        payload: { token: h.tokens.viewer },
      })
      expect(viaProxy.statusCode).toBe(200)
      expect(String(viaProxy.headers['set-cookie'])).toMatch(/; Secure$/)
      const [login] = await listAudit(h.store.db, { action: 'session.login', limit: 1 })
      expect(login?.source).toBe('203.0.113.52')

      const forged = await h.app.inject({
        method: 'POST',
        url: '/api/v1/session',
        remoteAddress: '127.0.0.1',
        headers: { ...csrf, 'x-forwarded-proto': 'https' },
        payload: { token: h.tokens.viewer },
      })
      expect(forged.statusCode).toBe(200)
      expect(String(forged.headers['set-cookie'])).not.toContain('Secure')
    },
  )
})
