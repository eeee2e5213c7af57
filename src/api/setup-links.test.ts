import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setPassword } from '../services/users.js'
import { listAudit } from '../store/audit.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

const csrf = { 'x-keel-csrf': '1' }

describe.each(apiStoreKinds)('one-time setup links on $name', ({ kind }) => {
  let h: ApiHarness
  beforeAll(async () => {
    if (!kind.skipReason) h = await startApiHarness(kind)
  }, 60_000)
  afterAll(async () => h?.close())

  async function newUser(id: string): Promise<string> {
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: h.as('admin'),
      payload: { id, role: 'viewer' },
    })
    expect(created.statusCode).toBe(201)
    return String(created.json().setupLink.url).split('#')[1] as string
  }

  async function newLink(id: string): Promise<string> {
    const link = await h.app.inject({
      method: 'POST',
      url: `/api/v1/users/${id}/setup-link`,
      headers: h.as('admin'),
    })
    expect(link.statusCode).toBe(201)
    return String(link.json().url).split('#')[1] as string
  }

  function use(token: string, password: string) {
    return h.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token, password } })
  }

  function login(user: string, password: string) {
    return h.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: csrf,
      payload: { user, password },
    })
  }

  it.skipIf(kind.skipReason)(
    'ends the older link when a newer one is issued and used: the older cannot reset the password',
    async () => {
      const older = await newUser('erin')
      const newer = await newLink('erin')
      expect((await use(newer, 'the password erin chose')).statusCode).toBe(200)
      const stale = await use(older, 'the password of whoever kept the old link')
      expect(stale.statusCode).toBe(404)
      expect(stale.json().error.message).toContain('ask an admin for a new one')
      expect((await login('erin', 'the password erin chose')).statusCode).toBe(200)
    },
  )

  it.skipIf(kind.skipReason)(
    'ends the older link as soon as a newer one is issued, before either is used',
    async () => {
      const older = await newUser('frank')
      const newer = await newLink('frank')
      expect((await h.app.inject({ url: `/api/v1/setup/${older}` })).statusCode).toBe(404)
      expect((await use(older, 'an attacker password')).statusCode).toBe(404)
      expect((await use(newer, 'the password frank chose')).statusCode).toBe(200)
      expect((await login('frank', 'the password frank chose')).statusCode).toBe(200)
    },
  )

  it.skipIf(kind.skipReason)(
    'ends every other link when one is used, and a used link never works again',
    async () => {
      await newUser('gina')
      const links = [await newLink('gina'), await newLink('gina'), await newLink('gina')]
      const last = links[2] as string
      expect((await use(last, 'the password gina chose')).statusCode).toBe(200)
      for (const token of links) {
        expect((await use(token, 'another password entirely')).statusCode).toBe(404)
      }
      const changes = await listAudit(h.store.db, { action: 'user.password', objectId: 'gina' })
      expect(changes).toHaveLength(1)
      expect((await login('gina', 'the password gina chose')).statusCode).toBe(200)
    },
  )

  it.skipIf(kind.skipReason)(
    'ends every unused link when an admin sets the password: the link cannot reset it later',
    async () => {
      const link = await newUser('hana')
      const set = await h.app.inject({
        method: 'POST',
        url: '/api/v1/users/hana/password',
        headers: h.as('admin'),
        payload: { password: 'the password the admin set' },
      })
      expect(set.statusCode).toBe(204)
      expect((await h.app.inject({ url: `/api/v1/setup/${link}` })).statusCode).toBe(404)
      expect((await use(link, 'the password of whoever kept the link')).statusCode).toBe(404)
      expect((await login('hana', 'the password of whoever kept the link')).statusCode).toBe(401)
      expect((await login('hana', 'the password the admin set')).statusCode).toBe(200)
      const [change] = await listAudit(h.store.db, { action: 'user.password', objectId: 'hana' })
      expect(change?.details).toMatchObject({ setupLinksEnded: 1 })
    },
  )

  it.skipIf(kind.skipReason)(
    'ends every unused link when the user sets their own password without one',
    async () => {
      const link = await newUser('ivan')
      const ivan = { name: 'user:ivan', role: 'viewer' as const, user: 'ivan' }
      await setPassword({ db: h.store.db, clock: h.clock }, ivan, 'ivan', 'the password ivan chose')
      expect((await use(link, 'the password of whoever kept the link')).statusCode).toBe(404)
      expect((await login('ivan', 'the password ivan chose')).statusCode).toBe(200)
    },
  )
})
