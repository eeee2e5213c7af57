import { createServer as createTcpServer } from 'node:net'
import { createServer } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateCertificate } from '../../test/helpers/certificate.js'
import { closedPort, listenOnLoopback, type ListeningServer } from '../../test/helpers/listen.js'
import type { ProbeContext } from './probe.js'
import { tlsProbe } from './tls.js'

const servers: Record<string, ListeningServer> = {}

async function tlsServer(days: number, commonName: string): Promise<ListeningServer> {
  const server = createServer(await generateCertificate({ days, commonName }), (socket) => {
    socket.on('error', () => undefined)
  })
  return listenOnLoopback(server)
}

function check(
  name: string,
  input: Record<string, unknown> = {},
  overrides: Partial<ProbeContext> = {},
) {
  const port = servers[name]?.port
  return tlsProbe.run(
    tlsProbe.configSchema.parse({ host: '127.0.0.1', port, tlsVerify: false, ...input }),
    {
      signal: new AbortController().signal,
      timeoutMs: 3_000,
      conditions: [],
      ...overrides,
    },
  )
}

beforeAll(async () => {
  const [fresh, soon, critical, expired] = await Promise.all([
    tlsServer(90, 'fresh.keel.test'),
    tlsServer(10, 'soon.keel.test'),
    tlsServer(2, 'critical.keel.test'),
    tlsServer(-1, 'expired.keel.test'),
  ])
  Object.assign(servers, { fresh, soon, critical, expired })
  servers.plain = await listenOnLoopback(
    createTcpServer((socket) => {
      socket.on('error', () => undefined)
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')
    }),
  )
})

afterAll(async () => {
  await Promise.all(Object.values(servers).map((server) => server.close()))
})

describe('tlsProbe', () => {
  it.each<[string, string, string, RegExp]>([
    [
      '90 days left is up',
      'fresh',
      'up',
      /^certificate CN=fresh\.keel\.test expires on \d{4}-\d\d-\d\d \d\d:\d\dZ \(in (89d|90d)/,
    ],
    [
      '10 days left is degraded (warnBefore 14d)',
      'soon',
      'degraded',
      /^certificate CN=soon\.keel\.test expires on .*; less than warnBefore 14d left$/,
    ],
    [
      '2 days left is down (criticalBefore 3d)',
      'critical',
      'down',
      /; less than criticalBefore 3d left$/,
    ],
    [
      'an expired certificate is down',
      'expired',
      'down',
      /^certificate CN=expired\.keel\.test expired on .* ago\); renew it$/,
    ],
  ])('%s', async (_name, server, status, message) => {
    const outcome = await check(server)
    expect(outcome.status).toBe(status)
    expect(outcome.message).toMatch(message)
  })

  it('reports the seconds left as a metric', async () => {
    const outcome = await check('soon')
    const seconds =
      outcome.metrics?.find((metric) => metric.label === 'certificate_expiration')?.value ?? 0
    expect(seconds).toBeGreaterThan(9 * 86_400)
    expect(seconds).toBeLessThanOrEqual(10 * 86_400)
  })

  it('honours custom thresholds', async () => {
    expect((await check('fresh', { warnBefore: '100d', criticalBefore: '1d' })).status).toBe(
      'degraded',
    )
    expect((await check('soon', { warnBefore: '2d', criticalBefore: '1d' })).status).toBe('up')
  })

  it('evaluates [CERTIFICATE_EXPIRATION] conditions', async () => {
    expect(
      (await check('fresh', {}, { conditions: ['[CERTIFICATE_EXPIRATION] > 60d'] })).status,
    ).toBe('up')
    const outcome = await check('soon', {}, { conditions: ['[CERTIFICATE_EXPIRATION] > 30d'] })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toMatch(
      /\(in 9d23h\); \[CERTIFICATE_EXPIRATION\] \((10d|9d23h\d+m\d+s|9d23h\d+m)\) > 30d$/,
    )
  })

  it('rejects a self-signed certificate when tlsVerify is on', async () => {
    const outcome = await check('fresh', { tlsVerify: true })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toBe(
      `TLS certificate of 127.0.0.1:${servers.fresh?.port} is not trusted: self-signed certificate; fix the certificate or set tlsVerify: false`,
    )
  })

  it('says an expired certificate is untrusted when tlsVerify is on', async () => {
    const outcome = await check('expired', { tlsVerify: true })
    expect(outcome.message).toContain('certificate has expired')
  })

  it('is down when the port does not speak TLS', async () => {
    const outcome = await check('plain')
    expect(outcome.status).toBe('down')
    expect(outcome.message).toContain(`127.0.0.1:${servers.plain?.port}`)
  })

  it('is down when the port is closed', async () => {
    const port = await closedPort()
    const outcome = await tlsProbe.run(tlsProbe.configSchema.parse({ host: '127.0.0.1', port }), {
      signal: new AbortController().signal,
      timeoutMs: 3_000,
      conditions: [],
    })
    expect(outcome).toMatchObject({
      status: 'down',
      message: `connection refused by 127.0.0.1:${port}`,
    })
  })

  it('rejects criticalBefore above warnBefore', () => {
    const config = tlsProbe.configSchema.parse({
      host: 'keel.test',
      warnBefore: '1d',
      criticalBefore: '2d',
    })
    expect(tlsProbe.validate?.(config)).toEqual([
      { path: ['criticalBefore'], message: 'criticalBefore (2d) must not exceed warnBefore (1d)' },
    ])
  })
})
