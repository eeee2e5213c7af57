import { describe, expect, it } from 'vitest'
import { sampleMessage } from './channel.contract.js'
import {
  channels,
  channelSpecSchema,
  findChannel,
  redactChannelSpec,
  sendNotification,
  type ChannelSpec,
} from './index.js'

const signal = new AbortController().signal

describe('channel registry', () => {
  it('holds each kind once', () => {
    const kinds = channels.map((channel) => channel.kind)
    expect(kinds).toEqual([
      'webhook',
      'slack',
      'email',
      'teams',
      'mattermost',
      'telegram',
      'discord',
      'ntfy',
    ])
    expect(new Set(kinds).size).toBe(kinds.length)
  })

  it.each([
    ['finds the webhook channel', 'webhook', 'webhook'],
    ['finds the email channel', 'email', 'email'],
    ['finds the telegram channel', 'telegram', 'telegram'],
    ['finds nothing for an unknown kind', 'pagerduty', undefined],
  ])('%s', (_name, kind, found) => {
    expect(findChannel(kind)?.kind).toBe(found)
  })
})

describe('channelSpecSchema', () => {
  it.each([
    [
      'a webhook with a secret',
      { type: 'webhook', url: 'https://hooks.example.org/x', secret: 's' },
    ],
    [
      'a slack webhook with a channel',
      { type: 'slack', url: 'https://hooks.slack.com/services/T/B/X', channel: '#ops' },
    ],
    [
      'an email relay with a timeout in seconds',
      {
        type: 'email',
        host: 'smtp.example.org',
        from: 'keel@example.org',
        to: ['ops@example.org'],
        timeout: 20,
      },
    ],
    [
      'an email relay with a relay-local recipient',
      {
        type: 'email',
        host: 'localhost',
        port: 25,
        from: 'keel@localhost',
        to: ['root@localhost'],
      },
    ],
  ])('accepts %s, and parses its output to the same spec', (_name, input) => {
    const once = channelSpecSchema.parse(input)
    expect(channelSpecSchema.parse(once)).toEqual(once)
  })

  it.each([
    ['an unknown type', { type: 'pager', url: 'https://x.example' }, ['type']],
    ['a webhook with an ftp url', { type: 'webhook', url: 'ftp://x.example/' }, ['url']],
    [
      'a field of another kind',
      { type: 'webhook', url: 'https://x.example/', channel: '#ops' },
      [],
    ],
    [
      'an email without recipients',
      { type: 'email', host: 'h', from: 'k@example.org', to: [] },
      ['to'],
    ],
    [
      'an unparseable timeout',
      { type: 'slack', url: 'https://x.example/', timeout: 'soon' },
      ['timeout'],
    ],
    [
      'a timeout over five minutes',
      { type: 'webhook', url: 'https://x.example/', timeout: '1h' },
      ['timeout'],
    ],
    [
      'a slack icon that is not an emoji code',
      { type: 'slack', url: 'https://x.example/', iconEmoji: 'siren' },
      ['iconEmoji'],
    ],
  ])('rejects %s at the path of the problem', (_name, input, path) => {
    const result = channelSpecSchema.safeParse(input)
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.path).toEqual(path)
  })
})

describe('redactChannelSpec', () => {
  it.each([
    [
      'the webhook secret and headers',
      {
        type: 'webhook',
        url: 'https://x.example/',
        secret: 's',
        headers: { Authorization: 'Bearer t' },
      },
      {
        type: 'webhook',
        url: 'https://x.example/',
        secret: '<redacted>',
        headers: '<redacted>',
        timeout: '10s',
      },
    ],
    [
      'the slack URL, which is the token',
      { type: 'slack', url: 'https://hooks.slack.com/services/T/B/X' },
      { type: 'slack', url: '<redacted>', timeout: '10s' },
    ],
    [
      'the email password',
      {
        type: 'email',
        host: 'h',
        from: 'k@example.org',
        to: ['o@example.org'],
        username: 'k',
        password: 'p',
      },
      {
        type: 'email',
        host: 'h',
        from: 'k@example.org',
        to: ['o@example.org'],
        username: 'k',
        password: '<redacted>',
        secure: false,
        starttls: 'opportunistic',
        insecureSkipVerify: false,
        timeout: '30s',
      },
    ],
    [
      'the telegram bot token but not the chat',
      { type: 'telegram', botToken: '1:AAx', chatId: -100 },
      {
        type: 'telegram',
        botToken: '<redacted>',
        chatId: -100,
        apiUrl: 'https://api.telegram.org',
        parseMode: 'HTML',
        timeout: '10s',
      },
    ],
    [
      'the ntfy token but not the topic',
      { type: 'ntfy', topic: 'keel', token: 'tk_x' },
      {
        type: 'ntfy',
        server: 'https://ntfy.sh',
        topic: 'keel',
        token: '<redacted>',
        timeout: '10s',
      },
    ],
    [
      'the discord webhook URL',
      { type: 'discord', url: 'https://discord.com/api/webhooks/1/t', username: 'Keel' },
      { type: 'discord', url: '<redacted>', username: 'Keel', timeout: '10s' },
    ],
  ])('hides %s', (_name, input, redacted) => {
    expect(redactChannelSpec(channelSpecSchema.parse(input))).toEqual(redacted)
  })
})

describe('sendNotification', () => {
  it.each([
    [
      'an unknown type',
      { type: 'pager' },
      'channel type "pager" is unknown; use one of webhook, slack, email',
    ],
    [
      'a spec that no longer validates',
      { type: 'webhook', url: 'nope' },
      'webhook channel config is invalid: `url`',
    ],
  ])('fails without sending for %s', async (_name, spec, reason) => {
    const outcome = await sendNotification(spec as ChannelSpec, sampleMessage(), { signal })
    expect(outcome).toMatchObject({ kind: 'failed', reason: expect.stringContaining(reason) })
  })

  it('turns a throw inside a channel into a retry', async () => {
    const spec = channelSpecSchema.parse({ type: 'webhook', url: 'http://127.0.0.1:9/' })
    // An invalid `at` makes the payload's toISOString() throw before any I/O.
    const outcome = await sendNotification(spec, sampleMessage({ at: Number.NaN }), { signal })
    expect(outcome).toMatchObject({ kind: 'retry', reason: expect.stringContaining('threw') })
  })
})
