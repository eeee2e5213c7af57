import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { maxPingBodyBytes } from '../services/heartbeats.js'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { parseExitStatus, pingBodyText } from './heartbeat-routes.js'

describe.each(apiStoreKinds)('heartbeat pings on $name', ({ kind }) => {
  let h: ApiHarness
  beforeAll(async () => {
    if (kind.skipReason) return
    h = await startApiHarness(kind)
  }, 60_000)
  afterAll(async () => h?.close())

  /** Creates a heartbeat monitor and returns its ping path. */
  async function heartbeat(id: string): Promise<string> {
    const response = await h.app.inject({
      method: 'POST',
      url: '/api/v1/monitors',
      headers: h.as('operator'),
      payload: { id, type: 'heartbeat', period: '1m', grace: '30s', retries: 0 },
    })
    expect(response.statusCode).toBe(201)
    return response.json().pingPath
  }

  async function monitor(id: string) {
    return (await h.app.inject({ url: `/api/v1/monitors/${id}`, headers: h.as('viewer') })).json()
  }

  async function pings(id: string) {
    const response = await h.app.inject({
      url: `/api/v1/monitors/${id}/pings`,
      headers: h.as('viewer'),
    })
    return response.json().items as { kind: string; exitStatus?: number; body?: string }[]
  }

  it.skipIf(kind.skipReason)('marks the monitor up on a ping, without a token', async () => {
    const path = await heartbeat('backup')
    expect(path).toMatch(/^\/ping\/[\w-]{16,}$/)
    h.clock.advance(1_000)
    const response = await h.app.inject({ method: 'GET', url: path })
    expect(response.statusCode).toBe(200)
    expect(response.body).toBe('OK')
    expect(response.headers['content-type']).toContain('text/plain')
    expect((await monitor('backup')).state).toBe('up')
  })

  it.skipIf(kind.skipReason)('marks the monitor down on /fail when retries is 0', async () => {
    const path = await heartbeat('etl')
    h.clock.advance(1_000)
    await h.app.inject({ method: 'POST', url: path })
    expect((await monitor('etl')).state).toBe('up')
    h.clock.advance(1_000)
    const fail = await h.app.inject({ method: 'POST', url: `${path}/fail`, payload: 'disk full' })
    expect(fail.body).toBe('OK')
    const view = await monitor('etl')
    expect(view.state).toBe('down')
    expect(view.lastMessage).toContain('disk full')
  })

  it.skipIf(kind.skipReason)('reads an exit status: 0 is up, 1 is down', async () => {
    const path = await heartbeat('cron-exit')
    h.clock.advance(1_000)
    expect((await h.app.inject({ method: 'POST', url: `${path}/0` })).body).toBe('OK')
    expect((await monitor('cron-exit')).state).toBe('up')
    h.clock.advance(1_000)
    expect((await h.app.inject({ method: 'POST', url: `${path}/1` })).body).toBe('OK')
    const view = await monitor('cron-exit')
    expect(view.state).toBe('down')
    expect(view.lastMessage).toContain('status 1')
    expect((await pings('cron-exit'))[0]).toMatchObject({ kind: 'exit', exitStatus: 1 })
  })

  it.skipIf(kind.skipReason)('records /start without changing the state', async () => {
    const path = await heartbeat('long-job')
    h.clock.advance(1_000)
    const start = await h.app.inject({ method: 'HEAD', url: `${path}/start` })
    expect(start.statusCode).toBe(200)
    expect((await monitor('long-job')).state).toBe('pending')
    h.clock.advance(90_000)
    await h.app.inject({ method: 'GET', url: path })
    const view = await monitor('long-job')
    expect(view.state).toBe('up')
    expect(view.lastLatencyMs).toBe(90_000)
    expect((await pings('long-job')).map((p) => p.kind)).toEqual(['success', 'start'])
  })

  it.skipIf(kind.skipReason)(
    'refuses an exit status outside 0–255 with 400 naming it',
    async () => {
      const path = await heartbeat('bad-exit')
      for (const status of ['256', '-1', 'abc', '1.5']) {
        const response = await h.app.inject({ method: 'POST', url: `${path}/${status}` })
        expect(response.statusCode).toBe(400)
        expect(response.body).toContain('exit status')
        expect(response.body).toContain(JSON.stringify(status))
      }
      expect(await pings('bad-exit')).toEqual([])
    },
  )

  it.skipIf(kind.skipReason)('answers an unknown token with 404 not found', async () => {
    for (const url of [
      '/ping/unknown-token',
      '/ping/unknown-token/fail',
      '/ping/unknown-token/3',
    ]) {
      const response = await h.app.inject({ method: 'POST', url, payload: 'x' })
      expect(response.statusCode).toBe(404)
      expect(response.body).toBe('not found')
    }
  })

  it.skipIf(kind.skipReason)('keeps the first 10 kB of a body of any content type', async () => {
    const path = await heartbeat('chatty')
    h.clock.advance(1_000)
    const log = 'line of output\n'.repeat(2_000)
    const response = await h.app.inject({
      method: 'POST',
      url: path,
      payload: log,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(response.statusCode).toBe(200)
    const [ping] = await pings('chatty')
    expect(ping?.body).toBe(log.slice(0, maxPingBodyBytes))
    h.clock.advance(1_000)
    const json = await h.app.inject({
      method: 'POST',
      url: path,
      payload: '{"not": "parsed", ',
      headers: { 'content-type': 'application/json' },
    })
    expect(json.statusCode).toBe(200)
    expect((await pings('chatty'))[0]?.body).toBe('{"not": "parsed", ')
  })

  it.skipIf(kind.skipReason)('stores binary and invalid UTF-8 bodies lossily', async () => {
    const path = await heartbeat('binary')
    h.clock.advance(1_000)
    const response = await h.app.inject({
      method: 'POST',
      url: `${path}/fail`,
      payload: Buffer.from([0x6f, 0x6b, 0x00, 0xff, 0xfe, 0xc3]),
      headers: { 'content-type': 'application/octet-stream' },
    })
    expect(response.statusCode).toBe(200)
    expect((await pings('binary'))[0]?.body).toBe('ok\uFFFD\uFFFD\uFFFD\uFFFD')
  })
})

describe('pingBodyText', () => {
  it.each([
    { name: 'no body', body: undefined, text: undefined },
    { name: 'an empty body', body: Buffer.alloc(0), text: undefined },
    { name: 'plain text', body: Buffer.from('done in 3s'), text: 'done in 3s' },
    {
      name: 'a multi-byte character that straddles the limit',
      body: Buffer.concat([Buffer.alloc(maxPingBodyBytes - 1, 0x61), Buffer.from('é and more')]),
      text: 'a'.repeat(maxPingBodyBytes - 1),
    },
    {
      name: 'NUL and invalid bytes',
      body: Buffer.from([0x6f, 0x6b, 0x00, 0xff]),
      text: 'ok\uFFFD\uFFFD',
    },
  ])('reads $name', ({ body, text }) => {
    expect(pingBodyText(body)).toBe(text)
  })
})

describe('parseExitStatus', () => {
  it.each([
    ['0', 0],
    ['255', 255],
    ['007', 7],
    ['256', undefined],
    ['-1', undefined],
    ['1e2', undefined],
    ['', undefined],
  ])('reads %j as %j', (text, status) => {
    expect(parseExitStatus(text)).toBe(status)
  })
})
