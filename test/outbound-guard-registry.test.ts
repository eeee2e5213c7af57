import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sampleMessage } from '../src/channels/channel.contract.js'
import { channels, sendNotification, type ChannelSpec } from '../src/channels/index.js'
import { configureOutboundGuard } from '../src/checks/outbound-guard.js'
import { parseMonitorSpec, probes, runCheck } from '../src/checks/registry.js'
import { runHttp } from '../src/runbooks/run-http.js'

// Every probe and channel that opens a connection must refuse a private target when the SSRF
// guard is on. The tables below are checked against the registries, so a new probe or channel
// fails here until it is listed: with a config pointing at a target, or as exempt with a reason.

/** Probe types that open no connection of their own. */
const exemptProbes: Record<string, string> = {
  heartbeat: 'waits for pings sent to Keel; it connects to nothing',
  command:
    'runs a program from a directory the administrator allows (checks.commandDirs); Keel opens no connection for it',
}

type Target = { host: string; port: number }
/** One way to point a kind at a target; undefined when the kind cannot take a name there. */
type Variant = [label: string, config: (target: Target) => Record<string, unknown> | undefined]

const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host)
const base = ({ host, port }: Target) => `http://${urlHost(host)}:${port}`

const probeVariants: Record<string, Variant[]> = {
  http: [['url', (t) => ({ url: `${base(t)}/health` })]],
  tcp: [['host', (t) => ({ host: t.host, port: t.port })]],
  dns: [
    // `server` must be an IP address (the schema refuses names), so only the literal row runs.
    [
      'server (udp)',
      (t) =>
        /^[\d.]+$/.test(t.host)
          ? { query: 'example.org', server: t.host, port: t.port }
          : undefined,
    ],
    [
      'server (tcp)',
      (t) =>
        /^[\d.]+$/.test(t.host)
          ? { query: 'example.org', server: t.host, port: t.port, transport: 'tcp' }
          : undefined,
    ],
  ],
  tls: [['host', (t) => ({ host: t.host, port: t.port })]],
  ping: [
    ['icmp', (t) => ({ host: t.host, method: 'icmp', count: 1 })],
    ['auto', (t) => ({ host: t.host, method: 'auto', count: 1 })],
    ['tcp', (t) => ({ host: t.host, method: 'tcp', port: t.port, count: 1 })],
  ],
  postgres: [
    ['host', (t) => ({ host: t.host, port: t.port })],
    ['url', (t) => ({ url: `postgres://keel@${urlHost(t.host)}:${t.port}/keel` })],
  ],
  mysql: [
    ['host', (t) => ({ host: t.host, port: t.port })],
    ['url', (t) => ({ url: `mysql://keel@${urlHost(t.host)}:${t.port}/keel` })],
  ],
  redis: [
    ['host', (t) => ({ host: t.host, port: t.port })],
    ['url', (t) => ({ url: `redis://${urlHost(t.host)}:${t.port}` })],
  ],
}

const channelVariants: Record<string, Variant[]> = {
  webhook: [['url', (t) => ({ url: `${base(t)}/hook` })]],
  slack: [['url', (t) => ({ url: `${base(t)}/services/T000/B000/XXXX` })]],
  email: [
    [
      'host',
      (t) => ({ host: t.host, port: t.port, from: 'keel@example.org', to: ['oncall@example.org'] }),
    ],
    [
      'host, implicit TLS',
      (t) => ({
        host: t.host,
        port: t.port,
        secure: true,
        from: 'keel@example.org',
        to: ['oncall@example.org'],
      }),
    ],
  ],
  teams: [['url', (t) => ({ url: `${base(t)}/workflows/1/triggers/manual/paths/invoke` })]],
  mattermost: [['url', (t) => ({ url: `${base(t)}/hooks/xq9k3mf8tbgdt8y1nrmwe5co3r` })]],
  telegram: [
    ['apiUrl', (t) => ({ botToken: '7012345678:AAHk-token', chatId: 42, apiUrl: base(t) })],
  ],
  discord: [['url', (t) => ({ url: `${base(t)}/api/webhooks/1234567890/token` })]],
  ntfy: [['server', (t) => ({ server: base(t), topic: 'keel-alerts' })]],
}

/** The targets every row is tried with: a private literal and a name that resolves to it. */
const targets = [
  {
    host: '127.0.0.1',
    refusal:
      /refused to connect to 127\.0\.0\.1: a loopback address; private targets are refused here \(checks\.refusePrivateTargets/,
  },
  {
    host: 'localhost',
    refusal:
      /refused to connect to localhost \(resolves to (127\.0\.0\.1|::1)\): a loopback address; private targets are refused here \(checks\.refusePrivateTargets/,
  },
]

interface Row {
  kind: string
  label: string
  /** Undefined when the kind is missing from its table: the row then fails and says so. */
  config: Variant[1] | undefined
  host: string
  refusal: RegExp
}

function rows(kinds: readonly string[], variants: Record<string, Variant[]>): Row[] {
  return kinds.flatMap((kind): Row[] => {
    const listed = variants[kind]
    // A kind missing from the table still gets a row, which fails and says what to add.
    if (listed === undefined) {
      return targets.map((target) => ({ kind, label: 'no config', config: undefined, ...target }))
    }
    return listed.flatMap(([label, config]) =>
      targets
        // A variant that cannot take this target (a name where only an IP is valid) has no row.
        .filter((target) => config({ host: target.host, port: 1 }) !== undefined)
        .map((target) => ({ kind, label, config, ...target })),
    )
  })
}

// A TCP listener and a UDP socket on the same loopback port: whatever a kind would reach, it is
// counted here, and must stay at zero.
let tcp: Server
let udp: UdpSocket
let port = 0
let connections = 0
let datagrams = 0
const sockets = new Set<Socket>()

beforeAll(async () => {
  for (let attempt = 0; ; attempt++) {
    tcp = createServer((socket) => {
      connections++
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()))
    port = (tcp.address() as AddressInfo).port
    udp = createSocket('udp4')
    udp.on('message', () => datagrams++)
    const bound = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false))
      udp.bind(port, '127.0.0.1', () => resolve(true))
    })
    if (bound) return
    udp.close()
    await new Promise<void>((resolve) => tcp.close(() => resolve()))
    if (attempt >= 5) throw new Error('no loopback port free for both TCP and UDP')
  }
})
afterAll(async () => {
  for (const socket of sockets) socket.destroy()
  await new Promise<void>((resolve) => udp.close(() => resolve()))
  await new Promise<void>((resolve) => tcp.close(() => resolve()))
})
afterEach(() => {
  configureOutboundGuard({ monitors: false })
  expect({ connections, datagrams }).toEqual({ connections: 0, datagrams: 0 })
})

describe('the SSRF guard covers every probe and channel in the registries', () => {
  it('lists every probe type as guarded (with configs) or exempt (with the reason), and nothing else', () => {
    const types = probes.map((probe) => probe.type)
    expect(types.filter((type) => !(type in probeVariants) && !(type in exemptProbes))).toEqual([])
    expect(
      Object.keys({ ...probeVariants, ...exemptProbes }).filter((t) => !types.includes(t)),
    ).toEqual([])
    expect(Object.keys(probeVariants).filter((type) => type in exemptProbes)).toEqual([])
  })

  it('lists every channel kind with a config (every channel connects somewhere)', () => {
    const kinds = channels.map((channel) => channel.kind)
    expect(kinds.filter((kind) => !(kind in channelVariants))).toEqual([])
    expect(Object.keys(channelVariants).filter((kind) => !kinds.includes(kind))).toEqual([])
  })

  it.each(
    rows(
      probes.map((probe) => probe.type).filter((type) => !(type in exemptProbes)),
      probeVariants,
    ),
  )('a $kind monitor ($label) refuses $host', async ({ kind, config, host, refusal }) => {
    if (config === undefined) {
      throw new Error(
        `${kind}: add a config to probeVariants, or the type to exemptProbes with the reason`,
      )
    }
    const parsed = parseMonitorSpec({ type: kind, timeout: '5s', ...config({ host, port }) })
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
    configureOutboundGuard({ monitors: true })
    const outcome = await runCheck(parsed.spec)
    expect(outcome.status).toBe('down')
    expect(outcome.message).toMatch(refusal)
  })

  it.each(
    rows(
      channels.map((channel) => channel.kind),
      channelVariants,
    ),
  )(
    'a $kind channel ($label) refuses $host, following checks.refusePrivateTargets',
    async ({ kind, config, host, refusal }) => {
      if (config === undefined) throw new Error(`${kind}: add a config to channelVariants`)
      configureOutboundGuard({ monitors: true })
      const outcome = await sendNotification(
        { type: kind, ...config({ host, port }) } as ChannelSpec,
        sampleMessage(),
        { signal: AbortSignal.timeout(10_000) },
      )
      expect(outcome.kind).toBe('failed')
      expect(outcome.kind === 'failed' && outcome.reason).toMatch(refusal)
    },
  )

  it.each(targets)('a runbook HTTP step refuses $host', async ({ host, refusal }) => {
    configureOutboundGuard({ monitors: true })
    const result = await runHttp(
      { method: 'POST', url: `${base({ host, port })}/restart`, headers: {}, body: '{}' },
      5_000,
    )
    expect(result.status).toBeUndefined()
    expect(result.error).toMatch(refusal)
  })
})
