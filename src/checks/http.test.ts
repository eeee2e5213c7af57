import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateCertificate } from '../../test/helpers/certificate.js'
import { closedPort, listenOnLoopback, type ListeningServer } from '../../test/helpers/listen.js'
import { httpProbe, jsonPathCondition } from './http.js'
import type { ProbeContext } from './probe.js'

function context(overrides: Partial<ProbeContext> = {}): ProbeContext {
  return { signal: new AbortController().signal, timeoutMs: 3_000, conditions: [], ...overrides }
}

function check(input: Record<string, unknown>, overrides: Partial<ProbeContext> = {}) {
  return httpProbe.run(httpProbe.configSchema.parse(input), context(overrides))
}

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const path = url.pathname
  if (path === '/ok') {
    res.end('hello keel world')
  } else if (path === '/json') {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ status: 'UP', items: [{ name: 'db', state: 'ok' }], count: 2 }))
  } else if (path.startsWith('/redirect/')) {
    const left = Number(path.slice('/redirect/'.length))
    res.writeHead(302, { location: left > 0 ? `/redirect/${left - 1}` : '/ok' })
    res.end()
  } else if (path === '/loop') {
    res.writeHead(302, { location: '/loop' })
    res.end()
  } else if (path.startsWith('/status/')) {
    res.writeHead(Number(path.slice('/status/'.length)))
    res.end('status page')
  } else if (path === '/hang') {
    // Never answers: the probe's timeout must end the request.
  } else if (path === '/delay') {
    setTimeout(() => res.end('late'), 50)
  } else if (path === '/echo') {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          method: req.method,
          authorization: req.headers.authorization ?? null,
          custom: req.headers['x-custom'] ?? null,
          body: Buffer.concat(chunks).toString(),
        }),
      )
    })
  } else if (path === '/big') {
    res.write('a'.repeat(2 * 1024 * 1024))
    res.end('NEEDLE')
  } else {
    res.writeHead(404)
    res.end('not found')
  }
}

let http: ListeningServer
let https: ListeningServer
let base: string
let secureBase: string

beforeAll(async () => {
  http = await listenOnLoopback(createServer(handler))
  const certificate = await generateCertificate({ days: 30 })
  https = await listenOnLoopback(createHttpsServer(certificate, handler))
  base = `http://127.0.0.1:${http.port}`
  secureBase = `https://127.0.0.1:${https.port}`
})

afterAll(async () => {
  await http?.close()
  await https?.close()
})

describe('httpProbe', () => {
  it('is up for a 200 and reports latency and the status in the message', async () => {
    const outcome = await check({ url: `${base}/ok` })
    expect(outcome).toMatchObject({ status: 'up', message: 'HTTP 200 OK' })
    expect(outcome.latencyMs).toBeGreaterThan(0)
  })

  it('is down for a 503 with the expected statuses in the message', async () => {
    const outcome = await check({ url: `${base}/status/503` })
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'HTTP 503 Service Unavailable; expected status 200-399',
    })
  })

  it('accepts a status listed in expectedStatus', async () => {
    const outcome = await check({ url: `${base}/status/404`, expectedStatus: ['2xx', 404] })
    expect(outcome.status).toBe('up')
  })

  it('lets a [STATUS] condition replace the default status range', async () => {
    const outcome = await check({ url: `${base}/status/418` }, { conditions: ['[STATUS] == 418'] })
    expect(outcome.status).toBe('up')
  })

  it('follows redirects to the final page', async () => {
    const outcome = await check({ url: `${base}/redirect/3`, keyword: 'keel' })
    expect(outcome).toMatchObject({ status: 'up', message: 'HTTP 200 OK' })
  })

  it('reports a 302 as up when redirects are not followed', async () => {
    const outcome = await check({ url: `${base}/redirect/3`, followRedirects: false })
    expect(outcome).toMatchObject({ status: 'up', message: 'HTTP 302 Found' })
  })

  it('is down after too many redirects', async () => {
    const outcome = await check({ url: `${base}/redirect/9`, maxRedirects: 3 })
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'HTTP 302 Found; stopped after 3 redirects (next: /redirect/5)',
    })
  })

  it('is down for a redirect loop', async () => {
    const outcome = await check({ url: `${base}/loop` })
    expect(outcome).toMatchObject({
      status: 'down',
      message: `redirect loop: ${base}/loop leads back to a URL it already visited`,
    })
  })

  it.each([
    ['a present keyword', { keyword: 'keel' }, 'up'],
    ['a missing keyword', { keyword: 'absent' }, 'down'],
    ['an inverted keyword that is absent', { keyword: 'error', invertKeyword: true }, 'up'],
    ['an inverted keyword that is present', { keyword: 'keel', invertKeyword: true }, 'down'],
  ])('judges %s', async (_name, fields, status) => {
    const outcome = await check({ url: `${base}/ok`, ...fields })
    expect(outcome.status).toBe(status)
  })

  it('names a missing keyword in the message', async () => {
    const outcome = await check({ url: `${base}/ok`, keyword: 'absent' })
    expect(outcome.message).toBe('HTTP 200 OK; keyword "absent" not found in the body')
  })

  it('reads at most 1 MiB of body, so a keyword after it is not found', async () => {
    const outcome = await check({ url: `${base}/big`, keyword: 'NEEDLE' })
    expect(outcome.status).toBe('down')
  })

  it.each([
    ['a matching JSON value', { jsonPath: 'status', expectedValue: 'UP' }, 'up'],
    ['a $-rooted path into an array', { jsonPath: '$.items[0].state', expectedValue: 'ok' }, 'up'],
    ['a number', { jsonPath: 'count', expectedValue: 2 }, 'up'],
    ['a different JSON value', { jsonPath: 'status', expectedValue: 'DOWN' }, 'down'],
    ['a path that only has to exist', { jsonPath: 'items' }, 'up'],
    ['a path that does not exist', { jsonPath: 'missing' }, 'down'],
  ])('judges %s', async (_name, fields, status) => {
    const outcome = await check({ url: `${base}/json`, ...fields })
    expect(outcome.status).toBe(status)
  })

  it('shows the observed JSON value when it differs', async () => {
    const outcome = await check({ url: `${base}/json`, jsonPath: 'status', expectedValue: 'DOWN' })
    expect(outcome.message).toBe('HTTP 200 OK; [BODY].status (UP) == "DOWN"')
  })

  it('evaluates conditions on the JSON body', async () => {
    const outcome = await check(
      { url: `${base}/json` },
      { conditions: ['[STATUS] == 200', 'len([BODY].items) == 2', '[RESPONSE_TIME] < 10s'] },
    )
    expect(outcome).toMatchObject({
      status: 'down',
      message: 'HTTP 200 OK; len([BODY].items) (1) == 2',
    })
  })

  it('sends method, headers, basic auth and body', async () => {
    const outcome = await check(
      {
        url: `${base}/echo`,
        method: 'POST',
        headers: { 'x-custom': 'yes' },
        basicAuth: { username: 'keel', password: 's3cret' },
        body: 'payload',
      },
      {
        conditions: [
          '[BODY].method == POST',
          '[BODY].custom == yes',
          `[BODY].authorization == "Basic ${Buffer.from('keel:s3cret').toString('base64')}"`,
          '[BODY].body == payload',
        ],
      },
    )
    expect(outcome).toMatchObject({ status: 'up' })
  })

  it('logs in with the credentials of the URL userinfo, decoded, unless basicAuth is given', async () => {
    const withUserinfo = base.replace('http://', 'http://keel:p%40ss@')
    const basic = (text: string) => `"Basic ${Buffer.from(text).toString('base64')}"`
    const fromUrl = await check(
      { url: `${withUserinfo}/echo` },
      { conditions: [`[BODY].authorization == ${basic('keel:p@ss')}`] },
    )
    expect(fromUrl).toMatchObject({ status: 'up' })
    const explicit = await check(
      { url: `${withUserinfo}/echo`, basicAuth: { username: 'other', password: 'pw' } },
      { conditions: [`[BODY].authorization == ${basic('other:pw')}`] },
    )
    expect(explicit).toMatchObject({ status: 'up' })
  })

  it('is down with a clear message when the port is closed', async () => {
    const port = await closedPort()
    const outcome = await check({ url: `http://127.0.0.1:${port}/` })
    expect(outcome).toMatchObject({
      status: 'down',
      message: `connection refused by 127.0.0.1:${port}`,
    })
  })

  it('is up for a closed port when the conditions expect [CONNECTED] == false', async () => {
    const port = await closedPort()
    const outcome = await check(
      { url: `http://127.0.0.1:${port}/` },
      { conditions: ['[CONNECTED] == false'] },
    )
    expect(outcome.status).toBe('up')
  })

  it('times out against a server that never answers', async () => {
    const outcome = await check({ url: `${base}/hang` }, { timeoutMs: 300 })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toBe(`timed out after 300ms waiting for GET ${base}/hang`)
  })

  it('stops when the engine aborts the run', async () => {
    const controller = new AbortController()
    const pending = check({ url: `${base}/hang` }, { signal: controller.signal, timeoutMs: 20_000 })
    setTimeout(() => controller.abort(), 50)
    const outcome = await pending
    expect(outcome).toMatchObject({
      status: 'down',
      message: `check aborted waiting for GET ${base}/hang`,
    })
  })

  it('is degraded when slower than degradedAfter', async () => {
    const outcome = await check({ url: `${base}/delay`, degradedAfter: '1ms' })
    expect(outcome.status).toBe('degraded')
    expect(outcome.message).toMatch(/^HTTP 200 OK; slow: \d+ms is over degradedAfter 1ms$/)
  })

  it('rejects a self-signed certificate when tlsVerify is on', async () => {
    const outcome = await check({ url: `${secureBase}/ok` })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toContain(`TLS certificate of 127.0.0.1:${https.port} is not trusted`)
    expect(outcome.message).toContain('tlsVerify: false')
  })

  it('accepts a self-signed certificate with tlsVerify false and sees its expiry', async () => {
    const outcome = await check(
      { url: `${secureBase}/ok`, tlsVerify: false },
      {
        conditions: [
          '[STATUS] == 200',
          '[CERTIFICATE_EXPIRATION] > 29d',
          '[CERTIFICATE_EXPIRATION] < 31d',
          '[IP] == 127.0.0.1',
        ],
      },
    )
    expect(outcome).toMatchObject({ status: 'up', message: 'HTTP 200 OK' })
  })
})

describe('httpProbe config', () => {
  it.each([
    ['a URL that is not http', { url: 'ftp://127.0.0.1/' }, 'url'],
    ['an unknown method', { url: 'http://127.0.0.1/', method: 'BREW' }, 'method'],
    [
      'a malformed status range',
      { url: 'http://127.0.0.1/', expectedStatus: '2x' },
      'expectedStatus',
    ],
    ['too many redirects', { url: 'http://127.0.0.1/', maxRedirects: 50 }, 'maxRedirects'],
  ])('rejects %s', (_name, input, field) => {
    const result = httpProbe.configSchema.safeParse(input)
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.path[0]).toBe(field)
  })

  it.each([
    ['status', 'UP', '[BODY].status == "UP"'],
    ['$.a.b[0]', 1, '[BODY].a.b[0] == "1"'],
    ['[0].name', 'x', '[BODY][0].name == "x"'],
    ['items', undefined, 'has([BODY].items) == true'],
    ['quote', 'say "hi"', `[BODY].quote == 'say "hi"'`],
  ])('turns jsonPath %s into a condition', (path, value, condition) => {
    expect(jsonPathCondition(path, value)).toBe(condition)
  })

  it('asks for a jsonPath when only expectedValue is given', () => {
    const config = httpProbe.configSchema.parse({ url: 'http://127.0.0.1/', expectedValue: 'UP' })
    expect(httpProbe.validate?.(config)).toEqual([
      { path: ['expectedValue'], message: 'expectedValue needs a jsonPath to compare it with' },
    ])
  })
})

describe('http probe connection reuse', () => {
  it.each([
    { reuseConnections: true, name: 'reuses keep-alive connections by default' },
    { reuseConnections: false, name: 'opens a fresh connection per check when asked' },
  ])('$name', async ({ reuseConnections }) => {
    let connections = 0
    const server = createServer((_req, res) => res.end('ok'))
    server.keepAliveTimeout = 30_000
    server.on('connection', () => connections++)
    const listening = await listenOnLoopback(server)
    try {
      for (let i = 0; i < 5; i++) {
        const outcome = await check(
          { url: `http://127.0.0.1:${listening.port}/`, reuseConnections, conditions: [] },
          {
            conditions: ['[IP] == 127.0.0.1'],
          },
        )
        expect(outcome.status, outcome.message).toBe('up')
      }
      // undici may open a second socket while the first is being returned to the pool.
      if (reuseConnections) expect(connections).toBeLessThanOrEqual(2)
      else expect(connections).toBe(5)
    } finally {
      await listening.close()
    }
  })
})
