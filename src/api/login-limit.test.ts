import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshLocation } from '../../test/helpers/stores.js'
import { createUser, setPassword } from '../services/users.js'
import { listAudit } from '../store/audit.js'
import { countLoginFailures } from '../store/sessions.js'
import { openStore, type Store } from '../store/dialect.js'
import { apiStoreKinds, testClock } from './api-harness.js'
import { createMetrics } from './metrics.js'
import { buildApi } from './server.js'

const csrf = { 'x-keel-csrf': '1' }
const password = 'correct horse battery staple'
const system = { name: 'system', role: 'admin' as const }
/** Each test runs up to 40 scrypt checks on a shared machine: allow for it. */
const scryptHeavy = 120_000

/** The answers' status codes, counted: `{ 401: 5, 429: 35 }`. */
function tally(codes: number[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const code of codes) counts[code] = (counts[code] ?? 0) + 1
  return counts
}

describe.each(apiStoreKinds)('the login rate limit on $name', ({ kind }) => {
  const clock = testClock()
  let stores: Store[] = []
  let apps: FastifyInstance[] = []
  let drop: (() => Promise<void>) | undefined

  beforeAll(async () => {
    if (kind.skipReason) return
    const fresh = await freshLocation(kind.name)
    drop = fresh.drop
    const first = await openStore(fresh.location)
    // Two nodes: on PostgreSQL each has its own connection pool to the one database; SQLite is a
    // single-node store, so its two API instances share the one handle.
    const second = kind.name === 'postgres' ? await openStore(fresh.location) : first
    stores = kind.name === 'postgres' ? [first, second] : [first]
    apps = await Promise.all(
      [first, second].map((store) =>
        buildApi({
          db: store.db,
          clock,
          log: pino({ level: 'silent' }),
          metrics: createMetrics(),
        }),
      ),
    )
    for (const id of ['alice', 'bob', 'carol', 'dave']) {
      await createUser({ db: first.db, clock }, system, { id, role: 'viewer' })
      await setPassword({ db: first.db, clock }, system, id, password)
    }
  }, 60_000)
  afterAll(async () => {
    for (const app of apps) await app.close()
    for (const store of stores) await store.close()
    await drop?.()
  })

  function login(user: string, secret: string, address: string, app = apps[0]) {
    return (app as FastifyInstance).inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: csrf,
      remoteAddress: address,
      payload: { user, password: secret },
    })
  }

  async function passwordChecks(user: string): Promise<number> {
    const failed = await listAudit((stores[0] as Store).db, {
      action: 'session.login-failed',
      objectId: user,
      limit: 10_000,
    })
    return failed.filter((e) => (e.details as { reason: string }).reason !== 'rate-limited').length
  }

  it.skipIf(kind.skipReason)(
    'lets exactly 5 of 40 parallel guesses check the password, across two nodes',
    async () => {
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          login('alice', `guess number ${i}`, '198.51.100.1', apps[i % 2]),
        ),
      )
      expect(tally(answers.map((a) => a.statusCode))).toEqual({ 401: 5, 429: 35 })
      expect(await passwordChecks('alice')).toBe(5)
      // Locked out by those 5: 40 parallel logins with the right password all get 429.
      const right = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          login('alice', password, `198.51.100.${2 + (i % 4)}`, apps[i % 2]),
        ),
      )
      expect(tally(right.map((a) => a.statusCode))).toEqual({ 429: 40 })
      expect(await passwordChecks('alice')).toBe(5)
    },
    scryptHeavy,
  )

  it.skipIf(kind.skipReason)(
    'lets exactly 5 of 150 parallel guesses from three addresses check the password',
    async () => {
      const answers = await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          login('bob', `guess number ${i}`, `198.51.100.${10 + (i % 3)}`, apps[i % 2]),
        ),
      )
      expect(tally(answers.map((a) => a.statusCode))).toEqual({ 401: 5, 429: 145 })
      expect(await passwordChecks('bob')).toBe(5)
      expect((await login('bob', password, '198.51.100.20')).statusCode).toBe(429)
    },
    scryptHeavy,
  )

  it.skipIf(kind.skipReason)(
    'limits one address to 20 failures across user names',
    async () => {
      // 150 different user names from one address: the address allows 20 checks, no more.
      const burst = await Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          login(`nobody-${i}`, 'whatever it is', '203.0.113.5'),
        ),
      )
      expect(tally(burst.map((a) => a.statusCode))).toEqual({ 401: 20, 429: 130 })

      // The next attempt from that address is refused even for a real user with her password…
      const limited = await login('carol', password, '203.0.113.5')
      expect(limited.statusCode).toBe(429)
      expect(Number(limited.headers['retry-after'])).toBe(15 * 60)
      // …while another address still gets in, and the failures age out with the window.
      expect((await login('carol', password, '203.0.113.7')).statusCode).toBe(200)
      clock.advance(15 * 60_000)
      expect((await login('carol', password, '203.0.113.5')).statusCode).toBe(200)
    },
    scryptHeavy,
  )

  it.skipIf(kind.skipReason)(
    'gives a successful login its address place back and clears the user’s failures',
    async () => {
      const keys = ['user:dave', 'address:192.0.2.9']
      for (let i = 0; i < 4; i++) {
        expect((await login('dave', `wrong ${i} password`, '192.0.2.9')).statusCode).toBe(401)
      }
      expect((await login('dave', password, '192.0.2.9')).statusCode).toBe(200)
      const held = await countLoginFailures((stores[0] as Store).db, keys, 0)
      expect(held.get('user:dave')).toBeUndefined()
      expect(held.get('address:192.0.2.9')?.count).toBe(4)
      expect((await login('dave', password, '192.0.2.9')).statusCode).toBe(200)
      const after = await countLoginFailures((stores[0] as Store).db, keys, 0)
      expect([...after.keys()]).toEqual(['address:192.0.2.9'])
      expect(after.get('address:192.0.2.9')?.count).toBe(4)
      for (let i = 0; i < 5; i++) {
        expect((await login('dave', `wrong again ${i}`, '192.0.2.9')).statusCode).toBe(401)
      }
      expect((await login('dave', password, '192.0.2.9')).statusCode).toBe(429)
    },
    scryptHeavy,
  )
})
