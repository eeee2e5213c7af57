import { describe, expect, it } from 'vitest'
import { probes } from '../checks/registry.js'
import {
  isSecretConfigPath,
  isSecretPath,
  redactConfig,
  redactUrlPassword,
  secretFieldsOf,
} from './redact.js'
import { keelConfigSchema, type KeelConfig } from './schema.js'

/** Channel specs are typed loosely (any kind); tests read their fields by name. */
function field(spec: unknown, name: string): unknown {
  return (spec as Record<string, unknown> | undefined)?.[name]
}

const config = keelConfigSchema.parse({
  store: { driver: 'postgres', url: 'postgres://keel:hunter2@db.internal:5432/keel' },
  channels: {
    hook: {
      type: 'webhook',
      url: 'https://hooks.example/x',
      secret: 'hmac-key',
      headers: { Authorization: 'Bearer t0ken' },
    },
    chat: { type: 'slack', url: 'https://hooks.slack.example/services/T/B/XYZ', channel: '#ops' },
    mail: {
      type: 'email',
      host: 'smtp.example',
      from: 'keel@example.org',
      to: ['a@example.org'],
      password: 'mailpw',
    },
  },
})

describe('redactConfig', () => {
  const redacted = redactConfig(config) as KeelConfig
  const text = JSON.stringify(redacted)

  it.each([
    {
      name: 'a webhook secret is redacted',
      pick: (c: KeelConfig) => field(c.channels.hook, 'secret'),
      value: '<redacted>',
    },
    {
      name: 'webhook headers are redacted as a whole',
      pick: (c: KeelConfig) => field(c.channels.hook, 'headers'),
      value: '<redacted>',
    },
    {
      name: 'a Slack webhook URL is redacted',
      pick: (c: KeelConfig) => field(c.channels.chat, 'url'),
      value: '<redacted>',
    },
    {
      name: 'an email password is redacted',
      pick: (c: KeelConfig) => field(c.channels.mail, 'password'),
      value: '<redacted>',
    },
    {
      name: 'a field that is not secret is kept',
      pick: (c: KeelConfig) => field(c.channels.chat, 'channel'),
      value: '#ops',
    },
    {
      name: 'a webhook URL is not a secret',
      pick: (c: KeelConfig) => field(c.channels.hook, 'url'),
      value: 'https://hooks.example/x',
    },
    {
      name: 'only the password of the store URL is redacted',
      pick: (c: KeelConfig) => (c.store.driver === 'postgres' ? c.store.url : undefined),
      value: 'postgres://keel:<redacted>@db.internal:5432/keel',
    },
  ])('$name', ({ pick, value }) => {
    expect(pick(redacted)).toEqual(value)
  })

  it.each(['hunter2', 'hmac-key', 't0ken', 'XYZ', 'mailpw'])('leaves no trace of %s', (secret) => {
    expect(text).not.toContain(secret)
  })

  it('leaves the original config untouched', () => {
    expect(field(config.channels.hook, 'secret')).toBe('hmac-key')
    expect(config.store.driver === 'postgres' && config.store.url).toContain('hunter2')
  })

  it('does not add a secret field that was not set', () => {
    const plain = keelConfigSchema.parse({
      channels: { hook: { type: 'webhook', url: 'https://h.example' } },
    })
    expect((redactConfig(plain) as KeelConfig).channels.hook).not.toHaveProperty('secret')
  })

  it('redacts every secret field a probe declares', () => {
    const withSecrets = probes.filter((probe) => probe.secretFields.length > 0)
    expect(withSecrets.length).toBeGreaterThan(0)
    const monitors: Record<string, unknown> = {}
    for (const probe of withSecrets) {
      const spec: Record<string, unknown> = { type: probe.type, kept: 'visible' }
      for (const field of probe.secretFields) {
        // A dotted field (`auth.password`) names a nested value.
        const keys = field.split('.')
        let holder = spec
        for (const key of keys.slice(0, -1))
          holder = (holder[key] ??= {}) as Record<string, unknown>
        holder[keys[keys.length - 1] as string] = 'top-secret'
      }
      monitors[probe.type] = spec
    }
    const result = JSON.stringify(redactConfig({ ...config, monitors } as unknown as KeelConfig))
    expect(result).not.toContain('top-secret')
    expect(result).toContain('visible')
  })
})

describe('redactUrlPassword', () => {
  it.each([
    {
      name: 'a userinfo password is replaced',
      url: 'postgresql://u:p%40ss@h/db',
      expected: 'postgresql://u:<redacted>@h/db',
    },
    {
      name: 'a password parameter is replaced',
      url: 'postgres://h/db?user=u&password=pw&ssl=1',
      expected: 'postgres://h/db?user=u&password=<redacted>&ssl=1',
    },
    {
      name: 'a URL with a user but no password is unchanged',
      url: 'postgres://u@h/db',
      expected: 'postgres://u@h/db',
    },
    {
      name: 'a URL without credentials is unchanged',
      url: 'postgres://h:5432/db',
      expected: 'postgres://h:5432/db',
    },
  ])('$name', ({ url, expected }) => {
    expect(redactUrlPassword(url)).toBe(expected)
  })
})

describe('secret paths', () => {
  it.each([
    {
      name: 'a declared secret field is secret',
      section: 'channels' as const,
      spec: { type: 'email' },
      path: 'password',
      secret: true,
    },
    {
      name: 'a key inside a secret map is secret',
      section: 'channels' as const,
      spec: { type: 'webhook' },
      path: 'headers.Authorization',
      secret: true,
    },
    {
      name: 'a field with a secret-like prefix is not secret',
      section: 'channels' as const,
      spec: { type: 'email' },
      path: 'passwordHint',
      secret: false,
    },
    {
      name: 'an ordinary field is not secret',
      section: 'channels' as const,
      spec: { type: 'email' },
      path: 'host',
      secret: false,
    },
    {
      name: 'a spec of an unknown type has no secrets',
      section: 'channels' as const,
      spec: { type: 'pigeon' },
      path: 'password',
      secret: false,
    },
  ])('$name', ({ section, spec, path, secret }) => {
    expect(isSecretPath(section, spec, path)).toBe(secret)
  })

  it.each([
    { name: 'the store URL is secret', segments: ['store', 'url'], secret: true },
    { name: 'the store driver is not secret', segments: ['store', 'driver'], secret: false },
    {
      name: 'a channel secret is found through its id',
      segments: ['channels', 'mail', 'password'],
      secret: true,
    },
    {
      name: 'a channel field that is not secret is found through its id',
      segments: ['channels', 'mail', 'host'],
      secret: false,
    },
    {
      name: 'an unknown id has no secrets',
      segments: ['channels', 'nope', 'password'],
      secret: false,
    },
  ])('$name', ({ segments, secret }) => {
    const raw = { channels: { mail: { type: 'email', password: 'x' } } }
    expect(isSecretConfigPath(raw, segments)).toBe(secret)
  })

  it('lists the secret fields of a channel kind', () => {
    expect(secretFieldsOf('channels', 'slack')).toEqual(['url'])
  })
})
