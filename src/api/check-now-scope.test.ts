import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiToken } from '../services/auth.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'

// `check now` runs a monitor's probe on demand. docs/security.md scopes it like pause and
// resume: a team-scoped caller needs responder or higher in the monitor's team.

// A closed loopback port: the probe answers `down` at once, without the network.
const tcp = { type: 'tcp', host: '127.0.0.1', port: 9 }

describe.each(apiStoreKinds)('check now is team-scoped on $name', ({ kind }) => {
  let h: ApiHarness
  const auth: Record<string, { authorization: string }> = {}

  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
    for (const [id, labels] of [
      ['web-front', { team: 'web' }],
      ['db-main', { team: 'dba' }],
      ['no-team', {}],
    ] as const) {
      const created = await h.app.inject({
        method: 'POST',
        url: '/api/v1/monitors',
        headers: h.as('admin'),
        payload: { id, ...tcp, labels },
      })
      expect(created.statusCode, created.body).toBe(201)
    }
    for (const [name, role, team] of [
      ['dba-responder', 'responder', 'dba'],
      ['dba-viewer', 'viewer', 'dba'],
    ] as const) {
      const token = await createApiToken({ db: h.store.db, clock: h.clock }, { name, role, team })
      auth[name] = { authorization: `Bearer ${token.token}` }
    }
  }, 60_000)
  afterAll(async () => h?.close())

  const check = (monitor: string, headers: { authorization: string }) =>
    h.app.inject({ method: 'POST', url: `/api/v1/monitors/${monitor}/check`, headers })

  it.skipIf(kind.skipReason)(
    "refuses a dba responder another team's monitor and one of no team, and names why",
    async () => {
      const web = await check('web-front', auth['dba-responder']!)
      expect(web.statusCode, web.body).toBe(403)
      expect(web.json().error.message).toContain('monitor web-front belongs to team web')
      const none = await check('no-team', auth['dba-responder']!)
      expect(none.statusCode, none.body).toBe(403)
      expect(none.json().error.message).toContain('monitor no-team has no team')
    },
  )

  it.skipIf(kind.skipReason)("lets a dba responder check the dba team's monitor", async () => {
    const db = await check('db-main', auth['dba-responder']!)
    expect(db.statusCode, db.body).toBe(200)
    expect(db.json()).toMatchObject({ monitor: 'db-main', status: 'down' })
  })

  it.skipIf(kind.skipReason)('refuses a viewer, even in the monitor’s team', async () => {
    const viewer = await check('db-main', auth['dba-viewer']!)
    expect(viewer.statusCode, viewer.body).toBe(403)
  })

  it.skipIf(kind.skipReason)(
    'lets a responder without a team scope check any monitor',
    async () => {
      for (const monitor of ['web-front', 'db-main', 'no-team']) {
        const response = await check(monitor, h.as('responder'))
        expect(response.statusCode, `${monitor}: ${response.body}`).toBe(200)
      }
    },
  )
})
