import { describe, expect, it } from 'vitest'
import {
  effectiveChannels,
  keelConfigJsonSchema,
  keelConfigSchema,
  parseListenAddress,
  type KeelConfig,
} from './schema.js'

function issuesOf(input: unknown): { path: string; message: string }[] {
  const result = keelConfigSchema.safeParse(input)
  if (result.success) return []
  return result.error.issues.map((issue) => ({
    path: issue.path.join('.'),
    message: issue.message,
  }))
}

describe('keelConfigSchema', () => {
  it('fills every default into an empty config', () => {
    expect(keelConfigSchema.parse({})).toEqual({
      server: { listen: '127.0.0.1:8080', shutdownTimeout: 10_000, trustProxy: [] },
      store: { driver: 'sqlite', path: 'keel.db' },
      checks: { refusePrivateTargets: false, commandDirs: [] },
      outbound: {},
      retention: { raw: 3_600_000, minute: 7_200_000, hour: 7_776_000_000, day: 63_072_000_000 },
      scheduler: { concurrency: 512, jitter: true },
      defaults: { channels: [] },
      channels: {},
      monitors: {},
      users: {},
      teams: {},
      schedules: {},
      escalationPolicies: {},
      routes: { match: [] },
      escalation: { pollInterval: 5_000, ackLinkExpiry: 86_400_000 },
      auth: {},
      catalog: { entities: {}, imports: [] },
      incidents: { autoResolve: true, ackTimeout: 1_800_000 },
      runbooks: { paths: [] },
      alerting: {
        receivers: {},
        inhibitRules: [],
        timeIntervals: {},
        maintenance: [],
        silenceExpiryNotice: 3_600_000,
        noticeChannels: [],
        dependencySuppression: true,
      },
    })
  })

  it.each([
    {
      name: 'a postgres store keeps its url and pool size',
      input: { store: { driver: 'postgres', url: 'postgres://keel:pw@db/keel', poolSize: 5 } },
      pick: (c: KeelConfig) => c.store,
      expected: { driver: 'postgres', url: 'postgres://keel:pw@db/keel', poolSize: 5 },
    },
    {
      name: 'a public URL loses its trailing slash',
      input: { server: { publicUrl: 'https://keel.example.org/' } },
      pick: (c: KeelConfig) => c.server.publicUrl,
      expected: 'https://keel.example.org',
    },
    {
      name: 'retention durations are parsed to milliseconds',
      input: { retention: { raw: '30m', day: '1w' } },
      pick: (c: KeelConfig) => [c.retention.raw, c.retention.day],
      expected: [1_800_000, 604_800_000],
    },
  ])('$name', ({ input, pick, expected }) => {
    expect(pick(keelConfigSchema.parse(input))).toEqual(expected)
  })

  it.each([
    { name: 'an unknown top-level key is an error', input: { sever: {} }, path: '' },
    {
      name: 'a listen address without a port is an error',
      input: { server: { listen: 'localhost' } },
      path: 'server.listen',
    },
    {
      name: 'a port above 65535 is an error',
      input: { server: { listen: '[::]:70000' } },
      path: 'server.listen',
    },
    {
      name: 'a non-http public URL is an error',
      input: { server: { publicUrl: 'ftp://x.org' } },
      path: 'server.publicUrl',
    },
    {
      name: 'a postgres store without a url is an error',
      input: { store: { driver: 'postgres' } },
      path: 'store.url',
    },
    {
      name: 'a store url of another database is an error',
      input: { store: { driver: 'postgres', url: 'mysql://db' } },
      path: 'store.url',
    },
    {
      name: 'an unknown store driver is an error',
      input: { store: { driver: 'mongo' } },
      path: 'store.driver',
    },
    {
      name: 'a retention below one minute is an error',
      input: { retention: { raw: '10s' } },
      path: 'retention.raw',
    },
    {
      name: 'a zero concurrency is an error',
      input: { scheduler: { concurrency: 0 } },
      path: 'scheduler.concurrency',
    },
    {
      name: 'an upper-case monitor id is an error',
      input: { monitors: { Web: { type: 'tcp' } } },
      path: 'monitors.Web',
    },
  ])('$name', ({ input, path }) => {
    expect(issuesOf(input).map((issue) => issue.path)).toContain(path)
  })

  it.each([
    {
      name: 'a monitor naming an undefined channel is an error listing the defined ones',
      input: {
        channels: {
          b: { type: 'webhook', url: 'https://b.example' },
          a: { type: 'webhook', url: 'https://a.example' },
        },
        monitors: { 'web-home': { type: 'tcp', host: 'h', port: 1, channels: ['a', 'ops'] } },
      },
      issue: {
        path: 'monitors.web-home.channels.1',
        message: 'unknown channel `ops`; defined channels: a, b',
      },
    },
    {
      name: 'a default channel that is not defined is an error',
      input: { defaults: { channels: ['ops'] } },
      issue: {
        path: 'defaults.channels.0',
        message: 'unknown channel `ops`; no channels are defined under `channels`',
      },
    },
    {
      name: 'channel references are checked even when another field is invalid',
      input: { server: { listen: 'nope' }, defaults: { channels: ['ops'] } },
      issue: {
        path: 'defaults.channels.0',
        message: 'unknown channel `ops`; no channels are defined under `channels`',
      },
    },
  ])('$name', ({ input, issue }) => {
    expect(issuesOf(input)).toContainEqual(issue)
  })

  it('accepts a monitor that names a defined channel', () => {
    const input = {
      channels: { ops: { type: 'webhook', url: 'https://ops.example' } },
      defaults: { channels: ['ops'] },
      monitors: { web: { type: 'tcp', host: 'h', port: 1, channels: ['ops'] } },
    }
    expect(issuesOf(input)).toEqual([])
  })
})

describe('parseListenAddress', () => {
  it.each([
    {
      name: 'an IPv4 address and port split',
      listen: '127.0.0.1:8080',
      expected: { host: '127.0.0.1', port: 8080 },
    },
    {
      name: 'a bracketed IPv6 address loses its brackets',
      listen: '[::1]:80',
      expected: { host: '::1', port: 80 },
    },
    {
      name: 'a host name is kept',
      listen: 'keel.internal:443',
      expected: { host: 'keel.internal', port: 443 },
    },
    {
      name: 'port 0 asks for any free port',
      listen: 'localhost:0',
      expected: { host: 'localhost', port: 0 },
    },
    { name: 'a missing port is rejected', listen: 'localhost', expected: undefined },
    { name: 'a missing host is rejected', listen: ':8080', expected: undefined },
    { name: 'an unbracketed IPv6 address is rejected', listen: '::1:80', expected: undefined },
    { name: 'a port above 65535 is rejected', listen: 'h:65536', expected: undefined },
  ])('$name', ({ listen, expected }) => {
    expect(parseListenAddress(listen)).toEqual(expected)
  })
})

describe('effectiveChannels', () => {
  const config = keelConfigSchema.parse({
    channels: {
      ops: { type: 'webhook', url: 'https://ops.example' },
      dba: { type: 'webhook', url: 'https://dba.example' },
    },
    defaults: { channels: ['ops'] },
    monitors: {
      plain: { type: 'tcp', host: 'h', port: 1 },
      own: { type: 'tcp', host: 'h', port: 1, channels: ['dba'] },
      silent: { type: 'tcp', host: 'h', port: 1, channels: [] },
    },
  })

  it.each([
    { name: 'a monitor without channels notifies the defaults', id: 'plain', expected: ['ops'] },
    { name: 'a monitor with its own channels notifies only those', id: 'own', expected: ['dba'] },
    { name: 'a monitor with an empty list notifies nobody', id: 'silent', expected: [] },
  ])('$name', ({ id, expected }) => {
    expect(
      effectiveChannels(config, config.monitors[id] as KeelConfig['monitors'][string]),
    ).toEqual(expected)
  })
})

describe('keelConfigJsonSchema', () => {
  const schema = keelConfigJsonSchema() as {
    additionalProperties: unknown
    properties: Record<
      string,
      { default?: unknown; properties?: Record<string, { default?: unknown }> }
    >
  }

  it('lists every section and forbids unknown top-level keys', () => {
    expect(Object.keys(schema.properties).sort()).toEqual(
      [
        'channels',
        'defaults',
        'monitors',
        'retention',
        'scheduler',
        'server',
        'store',
        'users',
        'teams',
        'schedules',
        'escalationPolicies',
        'routes',
        'escalation',
        'checks',
        'outbound',
        'statusPage',
        'auth',
        'catalog',
        'runbooks',
        'alerting',
        'incidents',
      ].sort(),
    )
    expect(schema.additionalProperties).toBe(false)
  })

  it.each([
    {
      name: 'retention defaults are shown as written durations',
      section: 'retention',
      field: 'raw',
      value: '1h',
    },
    {
      name: 'the incidents ackTimeout default is shown as a written duration',
      section: 'incidents',
      field: 'ackTimeout',
      value: '30m',
    },
    {
      name: 'plain defaults are shown as they are',
      section: 'scheduler',
      field: 'concurrency',
      value: 512,
    },
    {
      name: 'the listen default is shown',
      section: 'server',
      field: 'listen',
      value: '127.0.0.1:8080',
    },
  ])('$name', ({ section, field, value }) => {
    expect(schema.properties[section]?.properties?.[field]?.default).toEqual(value)
  })

  it('shows a monitor interval default as a duration a user could write', () => {
    const text = JSON.stringify(schema.properties.monitors)
    expect(text).toContain('"interval":{"default":"1m"')
    expect(text).not.toContain('60000')
  })

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema)
  })
})

describe('checks.commandDirs', () => {
  it('is empty by default, so the API may create no monitor that runs a program', () => {
    expect(keelConfigSchema.parse({}).checks.commandDirs).toEqual([])
  })

  it('takes absolute directories and refuses a relative one, naming the fix', () => {
    const ok = keelConfigSchema.safeParse({ checks: { commandDirs: ['/usr/lib/nagios/plugins'] } })
    expect(ok.success).toBe(true)
    const bad = keelConfigSchema.safeParse({ checks: { commandDirs: ['plugins'] } })
    expect(bad.error?.issues[0]).toMatchObject({
      path: ['checks', 'commandDirs', 0],
      message: 'must be an absolute directory such as /usr/lib/nagios/plugins',
    })
  })
})
