import { createServer } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { listenOnLoopback, type ListeningServer } from '../../test/helpers/listen.js'
import { httpProbe } from './http.js'
import { configureOutboundGuard } from './outbound-guard.js'
import { privateAddressKind } from './private-address.js'

describe('privateAddressKind', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private (RFC 1918)'],
    ['172.16.0.1', 'private (RFC 1918)'],
    ['172.31.255.255', 'private (RFC 1918)'],
    ['192.168.1.1', 'private (RFC 1918)'],
    ['100.64.0.1', 'carrier-grade NAT (RFC 6598)'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified ("this network")'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved or broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fd12:3456::1', 'unique local (RFC 4193)'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped IPv6'],
    ['::ffff:8.8.8.8', 'IPv4-mapped IPv6'],
    ['[::1]', 'loopback'],
    ['example.org', 'not an IP address'],
  ])('%s is %s', (ip, kind) => {
    expect(privateAddressKind(ip)).toBe(kind)
  })

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2001:4860:4860::8888'])(
    '%s is public',
    (ip) => {
      expect(privateAddressKind(ip)).toBeUndefined()
    },
  )
})

describe('the SSRF guard of http monitors', () => {
  let server: ListeningServer
  let hits = 0
  beforeAll(async () => {
    server = await listenOnLoopback(
      createServer((_req, res) => {
        hits++
        res.end('ok')
      }),
    )
  })
  afterAll(() => server.close())
  afterEach(() => configureOutboundGuard({ monitors: false }))

  const check = (input: Record<string, unknown>) =>
    httpProbe.run(httpProbe.configSchema.parse(input), {
      signal: new AbortController().signal,
      timeoutMs: 3_000,
      conditions: [],
    })

  it('allows loopback targets when the guard is off', async () => {
    const outcome = await check({ url: `http://127.0.0.1:${server.port}/ok` })
    expect(outcome.status).toBe('up')
  })

  it.each([true, false])(
    'refuses a literal loopback address before connecting (reuseConnections %s)',
    async (reuseConnections) => {
      const before = hits
      const outcome = await check({
        url: `http://127.0.0.1:${server.port}/ok`,
        refusePrivateTargets: true,
        reuseConnections,
      })
      expect(outcome.status).toBe('down')
      expect(outcome.message).toMatch(
        /refused to connect to 127\.0\.0\.1: a loopback address; private targets are refused/,
      )
      expect(hits).toBe(before)
    },
  )

  it('refuses a name on the address it resolves to, server-wide, and a monitor cannot opt out', async () => {
    configureOutboundGuard({ monitors: true })
    const before = hits
    const outcome = await check({
      url: `http://localhost:${server.port}/ok`,
      refusePrivateTargets: false,
    })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toMatch(
      /refused to connect to localhost \(resolves to (127\.0\.0\.1|::1)\)/,
    )
    expect(outcome.message).toContain('checks.refusePrivateTargets')
    expect(hits).toBe(before)
  })
})
