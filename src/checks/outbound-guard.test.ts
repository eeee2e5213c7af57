import { getServers, lookup, Resolver, setServers } from 'node:dns'
import { createServer, type RequestListener, type Server } from 'node:http'
import { syncBuiltinESMExports } from 'node:module'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startDnsServer, type LoopbackDnsServer } from '../../test/helpers/dns-server.js'
import { sampleMessage } from '../channels/channel.contract.js'
import { sendNotification, type ChannelSpec } from '../channels/index.js'
import { runHttp } from '../runbooks/run-http.js'
import { httpProbe } from './http.js'
import {
  configureOutboundGuard,
  outboundGuard,
  type AddressPolicy,
  type LookupFunction,
} from './outbound-guard.js'
import { privateAddressKind } from './private-address.js'
import { dnsProbe } from './dns.js'
import { pingProbe } from './ping.js'
import { postgresProbe } from './postgres.js'
import { tcpProbe } from './tcp.js'

// Tests cannot reach a public address, so one is simulated: 127.0.0.2 counts as public, every
// other address keeps its real kind. The "internal" servers listen on 127.0.0.1.
const publicAddress = '127.0.0.2'
const simulatedPolicy: AddressPolicy = (ip) =>
  ip === publicAddress ? undefined : privateAddressKind(ip)

/** Names under `.keel.test` are answered by the loopback DNS server; others by the system. */
function zoneLookup(dns: LoopbackDnsServer): LookupFunction {
  const resolver = new Resolver({ timeout: 2_000, tries: 1 })
  resolver.setServers([`127.0.0.1:${dns.port}`])
  return (hostname, options, callback) => {
    if (!hostname.endsWith('.keel.test')) {
      lookup(hostname, { ...options, all: true }, (error, addresses) => callback(error, addresses))
      return
    }
    resolver.resolve4(hostname, (error, addresses) => {
      if (error) callback(error, [])
      else
        callback(
          null,
          addresses.map((address) => ({ address, family: 4 })),
        )
    })
  }
}

interface CountingServer {
  port: number
  /** TCP connections accepted, whether or not a request followed. */
  connections: number
  requests: string[]
  close(): Promise<void>
}

async function listen(handler: RequestListener, host: string, port: number) {
  const server: Server = createServer(handler)
  const sockets = new Set<Socket>()
  const counted: CountingServer = {
    port: 0,
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
  server.on('connection', (socket) => {
    counted.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('request', (request) => counted.requests.push(request.url ?? ''))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  counted.port = (server.address() as AddressInfo).port
  return counted
}

/**
 * A "public" server on 127.0.0.2 and an internal one on 127.0.0.1 on the same port, so a name
 * that switches between the two addresses reaches either with the same URL.
 */
async function startPair(publicHandler: RequestListener) {
  for (let attempt = 0; ; attempt++) {
    const outside = await listen(publicHandler, publicAddress, 0)
    try {
      const inside = await listen(
        (_request, response) => response.end('secret'),
        '127.0.0.1',
        outside.port,
      )
      return { outside, inside, port: outside.port }
    } catch (error) {
      await outside.close()
      if (attempt >= 5) throw error
    }
  }
}

const redirectTo =
  (location: () => string): RequestListener =>
  (_request, response) => {
    response.writeHead(302, { location: location(), connection: 'close' })
    response.end()
  }

const ok: RequestListener = (_request, response) => {
  // A fresh connection (and lookup) for every request, as a rebinding attacker would want.
  response.writeHead(200, { connection: 'close' })
  response.end('ok')
}

function checkHttp(input: Record<string, unknown>) {
  return httpProbe.run(httpProbe.configSchema.parse(input), {
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    conditions: [],
  })
}

function checkTcp(input: Record<string, unknown>) {
  return tcpProbe.run(tcpProbe.configSchema.parse(input), {
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    conditions: [],
  })
}

function sendWebhook(url: string) {
  return sendNotification({ type: 'webhook', url } as ChannelSpec, sampleMessage(), {
    signal: new AbortController().signal,
  })
}

let dns: LoopbackDnsServer
// `internal.keel.test` always resolves to 127.0.0.1; `rebind.keel.test` answers 127.0.0.2 to
// odd-numbered queries and 127.0.0.1 to even-numbered ones, with TTL 0 so nothing caches it.
const rebind = { name: 'rebind.keel.test', type: 'A' as const, data: publicAddress, ttl: 0 }
let rebindQueries = 0

beforeAll(async () => {
  dns = await startDnsServer({
    records: [
      { name: 'internal.keel.test', type: 'A', data: '127.0.0.1', ttl: 0 },
      { name: 'public.keel.test', type: 'A', data: publicAddress, ttl: 0 },
      { name: 'peer.keel.test', type: 'A', data: '127.0.0.1', ttl: 0 },
      rebind,
    ],
    onQuery: (name) => {
      if (name !== rebind.name) return
      rebindQueries++
      rebind.data = rebindQueries % 2 === 1 ? publicAddress : '127.0.0.1'
    },
  })
})
afterAll(() => dns.close())

function guardOn(settings: { monitors: boolean; outbound?: boolean } = { monitors: true }) {
  configureOutboundGuard({ ...settings, policy: simulatedPolicy, resolve: zoneLookup(dns) })
}

afterEach(() => configureOutboundGuard({ monitors: false }))

describe('the simulated public network', () => {
  it('lets the guard reach 127.0.0.2 by name, so refusals below are about the address', async () => {
    const pair = await startPair(ok)
    try {
      guardOn()
      const outcome = await checkHttp({ url: `http://public.keel.test:${pair.port}/` })
      expect(outcome.message).toBe('HTTP 200 OK')
      expect(pair.outside.requests).toEqual(['/'])
      expect(pair.inside.connections).toBe(0)
    } finally {
      await pair.outside.close()
      await pair.inside.close()
    }
  })
})

describe('redirects to internal addresses', () => {
  let pair: Awaited<ReturnType<typeof startPair>>
  let location = ''
  beforeEach(async () => {
    pair = await startPair(redirectTo(() => location))
  })
  afterEach(async () => {
    await pair.outside.close()
    await pair.inside.close()
  })

  const targets: [string, (port: number) => string, RegExp][] = [
    [
      'a loopback literal',
      (port) => `http://127.0.0.1:${port}/secret`,
      /refused to connect to 127\.0\.0\.1: a loopback address; /,
    ],
    [
      'an RFC 1918 literal',
      (port) => `http://10.0.0.1:${port}/secret`,
      /refused to connect to 10\.0\.0\.1: a private \(RFC 1918\) address; /,
    ],
    [
      'a name resolving to loopback',
      (port) => `http://internal.keel.test:${port}/secret`,
      /refused to connect to internal\.keel\.test \(resolves to 127\.0\.0\.1\): a loopback address; /,
    ],
    [
      'localhost',
      (port) => `http://localhost:${port}/secret`,
      /refused to connect to localhost \(resolves to (127\.0\.0\.1|::1)\): a loopback address; /,
    ],
  ]

  it('are followed when the guard is off (the control: the setup reaches the internal server)', async () => {
    location = `http://127.0.0.1:${pair.port}/secret`
    const outcome = await checkHttp({ url: `http://${publicAddress}:${pair.port}/start` })
    expect(outcome.message).toBe('HTTP 200 OK')
    expect(pair.inside.requests).toEqual(['/secret'])
  })

  it.each(
    targets.flatMap(([what, url, message]) =>
      [true, false].map((reuse) => [what, reuse, url, message] as const),
    ),
  )(
    'an http monitor refuses a redirect to %s (reuseConnections %s)',
    async (_what, reuseConnections, url, message) => {
      guardOn()
      location = url(pair.port)
      const outcome = await checkHttp({
        url: `http://${publicAddress}:${pair.port}/start`,
        reuseConnections,
      })
      expect(outcome.status).toBe('down')
      expect(outcome.message).toMatch(message)
      expect(outcome.message).toContain('checks.refusePrivateTargets')
      expect(pair.outside.requests).toEqual(['/start'])
      expect(pair.inside.connections).toBe(0)
    },
  )

  it.each(targets)('a webhook channel does not follow a redirect to %s', async (_what, url) => {
    guardOn()
    location = url(pair.port)
    const outcome = await sendWebhook(`http://${publicAddress}:${pair.port}/hook`)
    expect(outcome).toMatchObject({ kind: 'failed' })
    expect(outcome.kind === 'failed' && outcome.reason).toMatch(
      /answered HTTP 302 \(redirect to .*\); set `url` to the final address, Keel does not follow redirects/,
    )
    expect(pair.outside.requests).toEqual(['/hook'])
    expect(pair.inside.connections).toBe(0)
  })

  it('a runbook HTTP step does not follow a redirect to an internal address', async () => {
    guardOn()
    location = `http://127.0.0.1:${pair.port}/secret`
    const result = await runHttp(
      { method: 'GET', url: `http://${publicAddress}:${pair.port}/step`, headers: {} },
      5_000,
    )
    expect(result.status).toBe(302)
    expect(pair.inside.connections).toBe(0)
  })
})

describe('DNS rebinding: a name that resolves public, then private', () => {
  let pair: Awaited<ReturnType<typeof startPair>>
  beforeEach(async () => {
    pair = await startPair(ok)
    rebindQueries = 0
  })
  afterEach(async () => {
    await pair.outside.close()
    await pair.inside.close()
  })

  const refusal =
    /refused to connect to rebind\.keel\.test \(resolves to 127\.0\.0\.1\): a loopback address; private targets are refused here/

  it.each([true, false])(
    'an http monitor reaches the public address, then refuses the private one (reuseConnections %s)',
    async (reuseConnections) => {
      guardOn()
      const input = { url: `http://rebind.keel.test:${pair.port}/health`, reuseConnections }
      const first = await checkHttp(input)
      const second = await checkHttp(input)
      expect(first.message).toBe('HTTP 200 OK')
      expect(second.status).toBe('down')
      expect(second.message).toMatch(refusal)
      // One lookup per connection: a guard that looked the name up again to connect would have
      // got 127.0.0.1 on the first check and reached the internal server.
      expect(rebindQueries).toBe(2)
      expect(pair.outside.requests).toEqual(['/health'])
      expect(pair.inside.connections).toBe(0)
    },
  )

  it('a tcp monitor connects to the public address, then refuses the private one', async () => {
    guardOn()
    const input = { host: 'rebind.keel.test', port: pair.port }
    const first = await checkTcp(input)
    const second = await checkTcp(input)
    expect(first.message).toBe(`connected to rebind.keel.test:${pair.port}`)
    expect(second.status).toBe('down')
    expect(second.message).toMatch(refusal)
    expect(rebindQueries).toBe(2)
    expect(pair.inside.connections).toBe(0)
  })

  it('a webhook channel delivers to the public address, then refuses the private one', async () => {
    guardOn({ monitors: false, outbound: true })
    const url = `http://rebind.keel.test:${pair.port}/hook`
    const first = await sendWebhook(url)
    const second = await sendWebhook(url)
    expect(first.kind).toBe('delivered')
    expect(second).toMatchObject({ kind: 'failed' })
    expect(second.kind === 'failed' && second.reason).toMatch(refusal)
    expect(second.kind === 'failed' && second.reason).toContain('outbound.refusePrivateTargets')
    expect(rebindQueries).toBe(2)
    expect(pair.inside.connections).toBe(0)
  })

  it('a runbook HTTP step reaches the public address, then refuses the private one', async () => {
    guardOn()
    const plan = { method: 'GET', url: `http://rebind.keel.test:${pair.port}/step`, headers: {} }
    const first = await runHttp(plan, 5_000)
    const second = await runHttp(plan, 5_000)
    expect(first.status).toBe(200)
    expect(second.status).toBeUndefined()
    expect(second.error).toMatch(refusal)
    expect(rebindQueries).toBe(2)
    expect(pair.inside.connections).toBe(0)
  })
})

describe('the peer check once connected', () => {
  // A policy that lets an address through the first time it is asked (the lookup) and refuses it
  // afterwards, so only the check of the connected socket can stop the connection.
  function onlyOnce(): AddressPolicy {
    const seen = new Set<string>()
    return (ip) => {
      if (!seen.has(ip)) {
        seen.add(ip)
        return undefined
      }
      return privateAddressKind(ip)
    }
  }

  let inside: CountingServer
  beforeEach(async () => {
    inside = await listen(ok, '127.0.0.1', 0)
  })
  afterEach(() => inside.close())

  const refusal =
    /refused to connect to peer\.keel\.test \(resolves to 127\.0\.0\.1\): a loopback address; /

  it('refuses a tcp monitor connection before anything is sent', async () => {
    configureOutboundGuard({ monitors: true, policy: onlyOnce(), resolve: zoneLookup(dns) })
    const outcome = await checkTcp({ host: 'peer.keel.test', port: inside.port, send: 'GET /\r\n' })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toMatch(refusal)
    expect(inside.requests).toEqual([])
  })

  it('refuses an http monitor and a webhook connection before the request is sent', async () => {
    configureOutboundGuard({ monitors: true, policy: onlyOnce(), resolve: zoneLookup(dns) })
    const outcome = await checkHttp({
      url: `http://peer.keel.test:${inside.port}/`,
      reuseConnections: false,
    })
    expect(outcome.message).toMatch(refusal)
    configureOutboundGuard({ monitors: true, policy: onlyOnce(), resolve: zoneLookup(dns) })
    const delivery = await sendWebhook(`http://peer.keel.test:${inside.port}/hook`)
    expect(delivery.kind === 'failed' && delivery.reason).toMatch(refusal)
    expect(inside.connections).toBe(2)
    expect(inside.requests).toEqual([])
  })
})

describe('which setting governs what', () => {
  let inside: CountingServer
  beforeEach(async () => {
    inside = await listen(ok, '127.0.0.1', 0)
  })
  afterEach(() => inside.close())

  it.each([
    [{ monitors: false }, undefined, undefined],
    [{ monitors: true }, 'checks.refusePrivateTargets', 'checks.refusePrivateTargets'],
    [{ monitors: true, outbound: false }, 'checks.refusePrivateTargets', undefined],
    [{ monitors: false, outbound: true }, undefined, 'outbound.refusePrivateTargets'],
  ])('with %o monitors name %s and channels %s', (settings, monitors, outbound) => {
    configureOutboundGuard(settings)
    expect(outboundGuard('monitors')?.setting).toBe(monitors)
    expect(outboundGuard('outbound')?.setting.split(',')[0]).toBe(outbound)
  })

  it('a loopback webhook delivers when the guard is off, and is refused when on', async () => {
    const url = `http://127.0.0.1:${inside.port}/hook`
    expect((await sendWebhook(url)).kind).toBe('delivered')
    configureOutboundGuard({ monitors: true, outbound: false })
    expect((await sendWebhook(url)).kind).toBe('delivered')
    configureOutboundGuard({ monitors: false, outbound: true })
    const refused = await sendWebhook(url)
    expect(refused.kind === 'failed' && refused.reason).toMatch(
      /^webhook channel: 127\.0\.0\.1:\d+: refused to connect to 127\.0\.0\.1: a loopback address; private targets are refused here \(outbound\.refusePrivateTargets\)$/,
    )
    expect(inside.requests).toEqual(['/hook', '/hook'])
  })

  it('a monitor can opt in, but not out of the server setting', () => {
    expect(outboundGuard('monitors', true)?.setting).toBe("the monitor's refusePrivateTargets")
    configureOutboundGuard({ monitors: true })
    expect(outboundGuard('monitors', false)?.setting).toBe('checks.refusePrivateTargets')
  })
})

describe('kinds that do not connect by name themselves', () => {
  it('the ping binary is given the address the guard checked, never the name', async () => {
    guardOn()
    // public.keel.test exists only on the test's DNS server, so the binary could not resolve it.
    const outcome = await pingProbe.run(
      pingProbe.configSchema.parse({ host: 'public.keel.test', method: 'icmp', count: 1 }),
      { signal: new AbortController().signal, timeoutMs: 5_000, conditions: [] },
    )
    expect(outcome.message).toMatch(/^ICMP ping public\.keel\.test: 1\/1 replies/)
    const refused = await pingProbe.run(
      pingProbe.configSchema.parse({ host: 'internal.keel.test', method: 'icmp', count: 1 }),
      { signal: new AbortController().signal, timeoutMs: 5_000, conditions: [] },
    )
    expect(refused.message).toMatch(
      /^ICMP ping internal\.keel\.test: refused to connect to internal\.keel\.test \(resolves to 127\.0\.0\.1\): a loopback address; /,
    )
  })

  it('a postgres monitor refuses a Unix socket host', async () => {
    guardOn()
    const outcome = await postgresProbe.run(
      postgresProbe.configSchema.parse({
        url: 'postgres:///keel?host=/var/run/postgresql&user=keel',
      }),
      { signal: new AbortController().signal, timeoutMs: 5_000, conditions: [] },
    )
    expect(outcome.status).toBe('down')
    expect(outcome.message).toMatch(
      /refused to connect to \/var\/run\/postgresql\/\.s\.PGSQL\.5432: a Unix socket address; /,
    )
  })

  describe('a dns monitor without a server', () => {
    let servers: string[]
    beforeEach(() => {
      servers = getServers()
      setServers(['127.0.0.1'])
      // The probe imports getServers by name; ESM bindings of built-ins follow only when synced.
      syncBuiltinESMExports()
    })
    afterEach(() => {
      setServers(servers)
      syncBuiltinESMExports()
    })

    it('checks the host resolver on another port, and trusts it on port 53', async () => {
      guardOn()
      const run = (port: number) =>
        dnsProbe.run(dnsProbe.configSchema.parse({ query: 'example.org', port }), {
          signal: AbortSignal.timeout(1_500),
          timeoutMs: 1_000,
          conditions: [],
        })
      expect((await run(dns.port)).message).toMatch(
        /^refused to connect to 127\.0\.0\.1: a loopback address; /,
      )
      expect(dns.queries.filter((query) => query.name === 'example.org')).toEqual([])
      expect((await run(53)).message).not.toContain('refused to connect')
    })
  })
})
