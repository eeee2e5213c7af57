import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { monitorCommonShape } from '../core/checks/index.js'
import { listenOnLoopback, type ListeningServer } from '../../test/helpers/listen.js'
import { defineProbe, type AnyProbeDefinition } from './probe.js'
import {
  describeTarget,
  findProbe,
  monitorSpecSchema,
  parseMonitorSpec,
  probes,
  runCheck,
  type MonitorSpec,
} from './registry.js'

function spec(input: Record<string, unknown>): MonitorSpec {
  const parsed = parseMonitorSpec(input)
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
  return parsed.spec
}

describe('the probe registry', () => {
  it('lists every probe once', () => {
    const types = probes.map((probe) => probe.type)
    expect(types).toEqual([
      'http',
      'tcp',
      'dns',
      'tls',
      'ping',
      'postgres',
      'mysql',
      'redis',
      'command',
      'heartbeat',
    ])
    expect(findProbe('dns')?.type).toBe('dns')
    expect(findProbe('gopher')).toBeUndefined()
  })

  it.each(probes.map((probe) => [probe.type, probe] as const))(
    'keeps the fields of %s apart from the common monitor fields',
    (_type, probe) => {
      const own = Object.keys(probe.configSchema.shape)
      expect(own.filter((field) => field in monitorCommonShape || field === 'type')).toEqual([])
      for (const secret of probe.secretFields) expect(own).toContain(secret.split('.')[0])
    },
  )

  it('gives each type its own schema in the union', () => {
    expect(monitorSpecSchema.options).toHaveLength(probes.length)
  })
})

describe('parseMonitorSpec', () => {
  it('applies defaults and parses durations', () => {
    const parsed = spec({
      type: 'http',
      url: 'http://127.0.0.1/health',
      interval: '30s',
      timeout: 2,
    })
    expect(parsed).toMatchObject({
      type: 'http',
      url: 'http://127.0.0.1/health',
      method: 'GET',
      interval: 30_000,
      timeout: 2_000,
      retries: 1,
      conditions: [],
      followRedirects: true,
    })
    if (parsed.type === 'http') expect(parsed.tlsVerify).toBe(true)
  })

  it('keeps typed fields per monitor type', () => {
    const parsed = spec({ type: 'heartbeat', period: '1h' })
    expect(parsed.type === 'heartbeat' && parsed.period).toBe(3_600_000)
    expect(parsed.type === 'heartbeat' && parsed.grace).toBe(60_000)
  })

  it.each<[string, unknown, { path: string; message: string | RegExp }[]]>([
    [
      'something that is not an object',
      'http',
      [{ path: '', message: 'a monitor must be an object with a type' }],
    ],
    [
      'a missing type',
      { url: 'http://x' },
      [{ path: 'type', message: /^type must be one of http, tcp, .*heartbeat; got nothing$/ }],
    ],
    [
      'a misspelt type',
      { type: 'htp' },
      [{ path: 'type', message: /got "htp"; did you mean "http"\?$/ }],
    ],
    [
      'a misspelt common field',
      { type: 'tcp', host: '127.0.0.1', port: 22, intervall: '1m' },
      [
        {
          path: 'intervall',
          message: 'unknown field "intervall" for a tcp monitor; did you mean "interval"?',
        },
      ],
    ],
    [
      'a field of another type',
      { type: 'tcp', host: '127.0.0.1', port: 22, url: 'http://x' },
      [{ path: 'url', message: 'unknown field "url" for a tcp monitor' }],
    ],
    [
      'an unknown nested field',
      { type: 'http', url: 'http://x', basicAuth: { username: 'a', password: 'b', realm: 'c' } },
      [{ path: 'basicAuth.realm', message: 'unknown field "realm" for a http monitor' }],
    ],
    [
      'several problems at once',
      { type: 'tcp', host: '127.0.0.1', port: '22', interval: '5ms', colour: 'red' },
      [
        { path: 'interval', message: 'interval must be ≥ 1s, got 5ms' },
        { path: 'port', message: /expected number/ },
        { path: 'colour', message: /unknown field "colour"/ },
      ],
    ],
    [
      'a condition that does not parse',
      { type: 'http', url: 'http://x', conditions: ['[STATUS] == 200', '[STATSU] == 200'] },
      [{ path: 'conditions.1', message: /unknown placeholder \[STATSU\]/ }],
    ],
    [
      'a placeholder the probe does not observe',
      { type: 'tcp', host: '127.0.0.1', port: 22, conditions: ['[STATUS] == 200'] },
      [
        {
          path: 'conditions.0',
          message:
            '[STATUS] is not observed by tcp monitors; use [CONNECTED], [RESPONSE_TIME], [IP], [BODY]',
        },
      ],
    ],
    [
      'conditions on a heartbeat',
      { type: 'heartbeat', period: '1h', conditions: ['[CONNECTED] == true'] },
      [{ path: 'conditions.0', message: 'heartbeat monitors take no conditions' }],
    ],
    [
      'a heartbeat with period and schedule',
      { type: 'heartbeat', period: '1h', schedule: '0 2 * * *' },
      [{ path: 'schedule', message: 'set period or schedule, not both' }],
    ],
    [
      'a jsonPath that does not parse',
      { type: 'http', url: 'http://x', jsonPath: 'a[x]', expectedValue: 1 },
      [{ path: 'jsonPath', message: /^jsonPath is invalid/ }],
    ],
  ])('reports %s with its path', (_name, input, expected) => {
    const parsed = parseMonitorSpec(input)
    expect(parsed.ok).toBe(false)
    if (parsed.ok) return
    expect(parsed.issues).toHaveLength(expected.length)
    for (const want of expected) {
      const issue = parsed.issues.find((candidate) => candidate.path === want.path)
      expect(issue, `issue at ${want.path} in ${JSON.stringify(parsed.issues)}`).toBeDefined()
      if (typeof want.message === 'string') expect(issue?.message).toBe(want.message)
      else expect(issue?.message).toMatch(want.message)
    }
  })

  it('parses its own output again to the same spec', () => {
    const input = { type: 'dns', query: 'keel.test', server: '127.0.0.1', interval: '2m' }
    const first = spec(input)
    expect(spec({ ...input })).toEqual(first)
  })

  it('describes the target of a monitor', () => {
    expect(describeTarget(spec({ type: 'http', url: 'http://127.0.0.1/x', method: 'HEAD' }))).toBe(
      'HEAD http://127.0.0.1/x',
    )
    expect(describeTarget(spec({ type: 'tcp', host: 'db', port: 5432 }))).toBe('tcp://db:5432')
  })
})

describe('runCheck', () => {
  let tcp: ListeningServer
  let hanging: ListeningServer

  beforeAll(async () => {
    tcp = await listenOnLoopback(createServer((socket) => socket.on('error', () => undefined)))
    hanging = await listenOnLoopback(createHttpServer(() => undefined))
  })

  afterAll(async () => {
    await tcp?.close()
    await hanging?.close()
  })

  it('runs the probe of the spec’s type with its conditions', async () => {
    const outcome = await runCheck(
      spec({ type: 'tcp', host: '127.0.0.1', port: tcp.port, conditions: ['[IP] == 127.0.0.2'] }),
    )
    expect(outcome).toMatchObject({
      status: 'down',
      message: `connected to 127.0.0.1:${tcp.port}; [IP] (127.0.0.1) == 127.0.0.2`,
    })
  })

  it('applies the monitor’s timeout', async () => {
    const url = `http://127.0.0.1:${hanging.port}/`
    const outcome = await runCheck(spec({ type: 'http', url, timeout: '300ms' }))
    expect(outcome).toMatchObject({
      status: 'down',
      message: `timed out after 300ms waiting for GET ${url}`,
    })
  })

  it('stops when the caller aborts', async () => {
    const controller = new AbortController()
    const pending = runCheck(
      spec({ type: 'http', url: `http://127.0.0.1:${hanging.port}/`, timeout: '20s' }),
      {
        signal: controller.signal,
      },
    )
    setTimeout(() => controller.abort(), 50)
    const outcome = await pending
    expect(outcome.status).toBe('down')
    expect(outcome.message).toContain('check aborted')
  })

  it('passes the last ping to a heartbeat', async () => {
    const outcome = await runCheck(spec({ type: 'heartbeat', period: '1h' }), {
      lastPingAt: Date.parse('2025-03-01T10:00:00Z'),
    })
    expect(outcome.message).toBe('no ping since 2025-03-01T10:00:00Z (expected every 1h, grace 1m)')
  })

  it('turns a probe that throws into a down outcome', async () => {
    // A spec that skipped validation makes the real command probe throw inside spawn().
    const broken = {
      ...spec({ type: 'command', command: '/bin/true' }),
      args: 'not-an-array',
    } as unknown as MonitorSpec
    const outcome = await runCheck(broken, { origin: { from: 'config' } })
    expect(outcome.status).toBe('down')
    expect(outcome.message).toMatch(/^probe error: /)
  })

  const misbehaving = (run: AnyProbeDefinition['run']): AnyProbeDefinition =>
    defineProbe({
      type: 'tcp',
      description: 'a probe with a bug',
      configSchema: z.object({}),
      secretFields: [],
      target: () => 'nowhere',
      run,
    }) as unknown as AnyProbeDefinition

  it.each<[string, AnyProbeDefinition['run'], string | RegExp]>([
    [
      'throws synchronously',
      () => {
        throw new Error('boom')
      },
      'probe error: boom',
    ],
    [
      'rejects',
      async () => Promise.reject(new TypeError('undefined is not a function')),
      'probe error: undefined is not a function',
    ],
    [
      'returns nonsense',
      async () => ({ status: 'fine' }) as never,
      'probe error: the probe returned no valid outcome',
    ],
    [
      'ignores its signal and never settles',
      () => new Promise(() => undefined),
      /^timed out after 200ms \(the tcp probe did not stop in time\)$/,
    ],
  ])('survives a probe that %s', async (_name, run, message) => {
    const outcome = await runCheck(
      spec({ type: 'tcp', host: '127.0.0.1', port: 1, timeout: '200ms' }),
      {
        probe: misbehaving(run),
      },
    )
    expect(outcome.status).toBe('down')
    if (typeof message === 'string') expect(outcome.message).toBe(message)
    else expect(outcome.message).toMatch(message)
  })

  it('cuts an overlong message', async () => {
    const outcome = await runCheck(spec({ type: 'tcp', host: '127.0.0.1', port: 1 }), {
      probe: misbehaving(async () => ({ status: 'up', latencyMs: 1, message: 'x'.repeat(5_000) })),
    })
    expect(outcome.message).toHaveLength(2_000)
  })
})
