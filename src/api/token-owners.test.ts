import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { freshLocation, storeKinds } from '../../test/helpers/stores.js'
import { createApiToken, listTokens } from '../services/auth.js'
import { RunOutputHub } from '../services/runbooks.js'
import { changeUser, createUser, setPassword } from '../services/users.js'
import { openStore, type Store } from '../store/dialect.js'
import { createMetrics } from './metrics.js'
import { buildApi } from './server.js'
import type { FastifyInstance } from 'fastify'

const dangerous = `---
title: Restart the payment worker
---
## Step: restart — Restart it
\`\`\`keel-command
run: echo restarting
dangerous: true
\`\`\`
`

const csrf = { 'x-keel-csrf': '1' }
const password = 'a long and unguessable passphrase 42'
const system = { name: 'test', role: 'admin' as const }

describe.each(storeKinds)('token owners and the two-person rule on $name', (kind) => {
  let app: FastifyInstance
  let store: Store
  let drop: () => Promise<void>
  let dir: string
  let other: string
  const clock = { now: () => Date.UTC(2026, 11, 6, 4) }
  const deps = () => ({ db: store.db, clock })

  beforeEach(async () => {
    if (kind.skipReason) return
    const fresh = await freshLocation(kind.name)
    drop = fresh.drop
    store = await openStore(fresh.location)
    dir = mkdtempSync(join(tmpdir(), 'keel-token-owners-'))
    writeFileSync(join(dir, 'restart-worker.md'), dangerous)
    app = await buildApi({
      db: store.db,
      clock,
      log: pino({ level: 'silent' }),
      metrics: createMetrics(),
      runbooks: { paths: [dir], hub: new RunOutputHub() },
    })
    await createUser(deps(), system, { id: 'alice', role: 'admin' })
    await setPassword(deps(), system, 'alice', password)
    other = (await createApiToken(deps(), { name: 'olga', role: 'operator', owner: 'cli:olga' }))
      .token
  }, 60_000)

  afterEach(async () => {
    if (kind.skipReason) return
    await app.close()
    await store.close()
    await drop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Alice logs in with her password and makes herself a token through the API. */
  async function aliceWithToken(): Promise<{ cookie: string; token: string }> {
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: csrf,
      payload: { user: 'alice', password },
    })
    expect(login.statusCode).toBe(200)
    const cookie = String(login.headers['set-cookie']).split(';')[0] as string
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { cookie, ...csrf },
      payload: { name: 'alice-ci', role: 'operator' },
    })
    expect(created.statusCode).toBe(201)
    return { cookie, token: created.json().token as string }
  }

  const startRun = (headers: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/runbooks/restart-worker/runs',
      headers,
      payload: {},
    })

  it.skipIf(kind.skipReason)(
    'lists each token with its owner, in the API and for keel token list',
    async () => {
      const { cookie } = await aliceWithToken()
      const mine = (await listTokens(deps())).find((t) => t.name === 'alice-ci')
      expect(mine).toMatchObject({ role: 'operator', owner: 'user:alice' })
      const list = await app.inject({ url: '/api/v1/tokens', headers: { cookie } })
      expect(list.statusCode).toBe(200)
      const shown = (list.json().items as { name: string; owner?: string }[]).map((t) => [
        t.name,
        t.owner,
      ])
      expect(Object.fromEntries(shown)).toEqual({ 'alice-ci': 'user:alice', olga: 'cli:olga' })
      const owners = Object.fromEntries(
        (await listTokens(deps())).map((t) => [t.name, t.owner] as const),
      )
      expect(owners).toEqual({ 'alice-ci': 'user:alice', olga: 'cli:olga' })
    },
  )

  it.skipIf(kind.skipReason)(
    "a token alice made cannot approve alice's run, nor her session the run her token asked for",
    async () => {
      const { cookie, token } = await aliceWithToken()
      const started = await startRun({ cookie, ...csrf })
      expect(started.statusCode).toBe(201)
      expect(started.json()).toMatchObject({
        status: 'pendingApproval',
        requestedBy: 'user:alice',
      })
      const approve = `/api/v1/runbook-runs/${started.json().id}/approve`
      const self = await app.inject({
        method: 'POST',
        url: approve,
        headers: { authorization: `Bearer ${token}` },
      })
      expect(self.statusCode).toBe(403)
      expect(self.json().error.message).toContain('user:alice requested this run')
      expect(self.json().error.message).toContain('acting as token:alice-ci')

      const byToken = await startRun({ authorization: `Bearer ${token}` })
      expect(byToken.json()).toMatchObject({ requestedBy: 'token:alice-ci' })
      const sessionApproves = await app.inject({
        method: 'POST',
        url: `/api/v1/runbook-runs/${byToken.json().id}/approve`,
        headers: { cookie, ...csrf },
      })
      expect(sessionApproves.statusCode).toBe(403)

      // Someone else approves.
      const peer = await app.inject({
        method: 'POST',
        url: approve,
        headers: { authorization: `Bearer ${other}` },
      })
      expect(peer.statusCode).toBe(200)
      expect(peer.json()).toMatchObject({ approvedBy: 'token:olga' })
    },
  )

  it.skipIf(kind.skipReason)(
    'disabling alice makes her token answer 401, and enabling her brings it back',
    async () => {
      const { token } = await aliceWithToken()
      const read = () =>
        app.inject({ url: '/api/v1/monitors', headers: { authorization: `Bearer ${token}` } })
      expect((await read()).statusCode).toBe(200)
      await changeUser(deps(), system, 'alice', { disabled: true })
      const refused = await read()
      expect(refused.statusCode).toBe(401)
      expect(refused.json().error.message).toContain('belongs to user alice, who is disabled')
      // A browser session opened with the token ends with it too: each request re-checks it.
      const login = await app.inject({
        method: 'POST',
        url: '/api/v1/session',
        headers: csrf,
        payload: { token },
      })
      expect(login.statusCode).toBe(401)
      await changeUser(deps(), system, 'alice', { disabled: false })
      expect((await read()).statusCode).toBe(200)
    },
  )

  /** Alice makes herself a token through the API and opens a browser session with it. */
  async function aliceToken(payload: {
    role: string
    team?: string
  }): Promise<{ bearer: Record<string, string>; session: Record<string, string> }> {
    const { cookie } = await aliceWithToken()
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { cookie, ...csrf },
      payload: { name: `alice-${payload.role}-${payload.team ?? 'all'}`, ...payload },
    })
    expect(created.statusCode).toBe(201)
    const token = created.json().token as string
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: csrf,
      payload: { token },
    })
    expect(login.statusCode).toBe(200)
    return {
      bearer: { authorization: `Bearer ${token}` },
      session: { cookie: String(login.headers['set-cookie']).split(';')[0] as string, ...csrf },
    }
  }

  const silence = (headers: Record<string, string>, team: string) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/silences',
      headers,
      payload: { matchers: [`team="${team}"`], duration: '1h', comment: 'maintenance' },
    })

  it.skipIf(kind.skipReason)(
    'demoting alice demotes her admin token and its session on the next request; promoting her restores them',
    async () => {
      const { bearer, session } = await aliceToken({ role: 'admin' })
      const adminRoute = (headers: Record<string, string>) =>
        app.inject({ url: '/api/v1/tokens', headers })
      const viewerRoute = (headers: Record<string, string>) =>
        app.inject({ url: '/api/v1/monitors', headers })
      for (const headers of [bearer, session]) {
        expect((await adminRoute(headers)).statusCode).toBe(200)
      }
      await changeUser(deps(), system, 'alice', { role: 'viewer' })
      for (const headers of [bearer, session]) {
        const refused = await adminRoute(headers)
        expect(refused.statusCode).toBe(403)
        expect(refused.json().error.message).toContain('has role viewer; this needs admin')
        expect((await viewerRoute(headers)).statusCode).toBe(200)
        expect((await silence(headers, 'dba')).statusCode).toBe(403)
      }
      const shown = await app.inject({ url: '/api/v1/session', headers: session })
      expect(shown.json()).toMatchObject({ role: 'viewer' })
      // The token keeps its own role: promoting alice back gives it back, no new token needed.
      expect((await listTokens(deps())).find((t) => t.name === 'alice-admin-all')).toMatchObject({
        role: 'admin',
      })
      await changeUser(deps(), system, 'alice', { role: 'admin' })
      for (const headers of [bearer, session]) {
        expect((await adminRoute(headers)).statusCode).toBe(200)
      }
    },
  )

  it.skipIf(kind.skipReason)(
    'a token alice made never reaches beyond her team scope: it takes her teams, or keeps its own only while she is in it',
    async () => {
      const all = await aliceToken({ role: 'operator' })
      const web = await aliceToken({ role: 'operator', team: 'web' })
      for (const { bearer } of [all, web]) {
        expect((await silence(bearer, 'web')).statusCode).toBe(201)
      }
      await changeUser(deps(), system, 'alice', {
        role: 'operator',
        teams: [
          { team: 'dba', role: 'operator' },
          { team: 'edge', role: 'responder' },
        ],
      })
      for (const headers of [all.bearer, all.session]) {
        const refused = await silence(headers, 'web')
        expect(refused.statusCode).toBe(403)
        expect(refused.json().error.message).toContain('scoped to team dba, edge')
        expect((await silence(headers, 'dba')).statusCode).toBe(201)
        // Her role in edge is responder, so the token's is too.
        expect((await silence(headers, 'edge')).statusCode).toBe(403)
      }
      const shown = await app.inject({ url: '/api/v1/session', headers: all.session })
      expect(shown.json()).toMatchObject({ teams: { dba: 'operator', edge: 'responder' } })
      // The web token's team is no longer hers: it may change no team's objects.
      for (const team of ['web', 'dba']) {
        const refused = await silence(web.bearer, team)
        expect(refused.statusCode).toBe(403)
        expect(refused.json().error.message).toContain('scoped to no team')
      }
      await changeUser(deps(), system, 'alice', { teams: [{ team: 'web', role: 'operator' }] })
      expect((await silence(web.bearer, 'web')).statusCode).toBe(201)
      expect((await silence(all.bearer, 'dba')).statusCode).toBe(403)
    },
  )

  it.skipIf(kind.skipReason)('refuses a token for a user who cannot own one', async () => {
    await changeUser(deps(), system, 'alice', { disabled: true })
    await expect(
      createApiToken(deps(), { name: 'x', role: 'viewer', owner: 'user:alice' }),
    ).rejects.toThrow(/token owner user:alice: user alice is disabled/)
    await expect(
      createApiToken(deps(), { name: 'x', role: 'viewer', owner: 'user:nobody' }),
    ).rejects.toThrow(/user nobody does not exist/)
    await expect(
      createApiToken(deps(), { name: 'x', role: 'viewer', owner: 'alice' }),
    ).rejects.toThrow(/token owner must be user:<id>/)
  })
})
