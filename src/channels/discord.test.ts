import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  startLoopbackReceiver,
  type LoopbackReceiver,
} from '../../test/helpers/loopback-receiver.js'
import type { NotificationMessage } from './channel.js'
import {
  httpContractReceiver,
  runChannelContract,
  sampleActions,
  sampleMessage,
} from './channel.contract.js'
import { discordChannel, discordPayload } from './discord.js'

const hookPath = '/api/webhooks/1234567890/wHt0ken-SECRETpart'

runChannelContract('discord', {
  definition: discordChannel,
  makeConfig: (url) => ({ url: `${url}${hookPath}` }),
  startReceiver: httpContractReceiver,
  actionUrlForms: (url) => [`](${url})`],
  markup: ['markdown'],
})

describe('discord channel', () => {
  let receiver: LoopbackReceiver

  beforeEach(async () => {
    receiver = await startLoopbackReceiver()
  })

  afterEach(async () => {
    await receiver.close()
  })

  function send(message = sampleMessage(), config: Record<string, unknown> = {}) {
    return discordChannel.send(
      discordChannel.configSchema.parse({ url: `${receiver.url}${hookPath}`, ...config }),
      message,
      { signal: new AbortController().signal },
    )
  }

  async function payloadFor(message: NotificationMessage, config: Record<string, unknown> = {}) {
    expect((await send(message, config)).kind).toBe('delivered')
    const [request] = await receiver.waitFor(1)
    return JSON.parse(request?.body ?? '') as Record<string, unknown>
  }

  it('posts one embed with colour, label fields, timestamp and link, and mentions no one', async () => {
    receiver.respondWith({ status: 204 })
    const payload = await payloadFor(sampleMessage(), {
      username: 'Keel',
      avatarUrl: 'https://keel.example.org/icon.png',
    })
    expect(payload).toEqual({
      username: 'Keel',
      avatar_url: 'https://keel.example.org/icon.png',
      embeds: [
        {
          title: '[FIRING] web-home is DOWN',
          description: 'GET https://example.org/ answered 503 twice in a row',
          color: 0xd00000,
          fields: [
            { name: 'severity', value: 'critical', inline: true },
            { name: 'alertname', value: 'MonitorUnhealthy', inline: true },
            { name: 'monitor', value: 'web-home', inline: true },
            { name: 'service', value: 'web', inline: true },
          ],
          timestamp: '2025-03-01T12:00:00.000Z',
          url: 'https://keel.example.org/incidents/42',
        },
      ],
      allowed_mentions: { parse: [] },
    })
  })

  it('colours a resolved embed green and leaves out what it was not given', async () => {
    const payload = await payloadFor(sampleMessage({ status: 'resolved', url: undefined }))
    expect(Object.keys(payload).sort()).toEqual(['allowed_mentions', 'embeds'])
    expect(payload.embeds).toEqual([
      expect.objectContaining({ title: '[RESOLVED] web-home is DOWN', color: 0x2eb886 }),
    ])
    expect(JSON.stringify(payload)).not.toContain('"url"')
  })

  it('retries a 429 after the fractional retry_after in the body, not the rounded header', async () => {
    receiver.respondWith({
      status: 429,
      headers: { 'content-type': 'application/json', 'retry-after': '2' },
      body: '{"message":"You are being rate limited.","retry_after":1.234,"global":false}',
    })
    expect(await send()).toEqual({
      kind: 'retry',
      reason: expect.stringContaining('HTTP 429: You are being rate limited.'),
      afterMs: 1_234,
    })
  })

  it('falls back to Retry-After when a 429 body is not Discord’s JSON', async () => {
    receiver.respondWith({ status: 429, headers: { 'retry-after': '3' }, body: 'slow down' })
    expect(await send()).toMatchObject({ kind: 'retry', afterMs: 3_000 })
  })

  it('fails on an unknown webhook without repeating its token', async () => {
    receiver.respondWith({ status: 404, body: '{"message": "Unknown Webhook", "code": 10015}' })
    const outcome = await send()
    expect(outcome).toMatchObject({ kind: 'failed' })
    if (outcome.kind !== 'failed') return
    expect(outcome.reason).toContain('Unknown Webhook')
    expect(outcome.reason).not.toContain('SECRETpart')
  })

  it('escapes Markdown in the text, so labels cannot format or hide links', () => {
    const embed = discordPayload(
      sampleMessage({ text: '**x** ||spoiler|| [a](b) @everyone', labels: { q: '> quote' } }),
    ).embeds[0]
    expect(embed.description).toBe('\\*\\*x\\*\\* \\|\\|spoiler\\|\\| \\[a\\]\\(b\\) @everyone')
    expect(embed.fields).toContainEqual({ name: 'q', value: '\\> quote', inline: true })
  })

  it('keeps every part within Discord’s embed limits, 6,000 characters in all', () => {
    const labels = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`${'n'.repeat(300)}${i}`, '*'.repeat(2_000)]),
    )
    const embed = discordPayload(
      sampleMessage({ title: 't'.repeat(500), text: '_'.repeat(9_000), labels }),
    ).embeds[0]
    expect(embed.title.length).toBeLessThanOrEqual(256)
    expect(embed.description?.length).toBeLessThanOrEqual(4_096)
    expect(embed.description).toMatch(/^(\\_)+…$/)
    expect(embed.fields.length).toBeLessThanOrEqual(25)
    let total = embed.title.length + (embed.description?.length ?? 0)
    for (const field of embed.fields) {
      expect(field.name.length).toBeLessThanOrEqual(256)
      expect(field.value.length).toBeLessThanOrEqual(1_024)
      total += field.name.length + field.value.length
    }
    expect(total).toBeLessThanOrEqual(6_000)
  })

  it('says how many labels did not fit in 25 fields', () => {
    const labels = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`l${i}`, 'v']))
    const { fields } = discordPayload(sampleMessage({ labels })).embeds[0]
    expect(fields).toHaveLength(25)
    expect(fields.at(-1)).toEqual({ name: '…', value: '7 more labels', inline: true })
  })

  it('replaces an empty label value, which Discord would refuse, with a dash', () => {
    const { fields } = discordPayload(sampleMessage({ labels: { empty: '', blank: ' ' } }))
      .embeds[0]
    expect(fields).toContainEqual({ name: 'empty', value: '-', inline: true })
    expect(fields).toContainEqual({ name: 'blank', value: '-', inline: true })
  })

  it.each([
    ['a name Discord refuses', { username: 'Discord Alerts' }, 'must not contain "discord"'],
    ['a name over 80 characters', { username: 'k'.repeat(81) }, 'at most 80'],
    ['an avatar that is not a URL', { avatarUrl: 'keel.png' }, 'avatarUrl must be'],
  ])('rejects %s', (_name, override, message) => {
    const result = discordChannel.configSchema.safeParse({
      url: 'https://discord.com/api/webhooks/1/t',
      ...override,
    })
    expect(result.error?.issues[0]?.message).toContain(message)
  })
})

describe('discord payload actions', () => {
  it('puts the actions and the Keel link as masked links in a first, full-width field', () => {
    const payload = discordPayload(sampleMessage({ actions: sampleActions }))
    expect(payload.embeds[0].fields[0]).toEqual({
      name: 'Actions',
      value:
        `[Acknowledge](${sampleActions[0]!.url}) · [Resolve](${sampleActions[1]!.url}) · ` +
        '[Open in Keel](https://keel.example.org/incidents/42)',
      inline: false,
    })
  })

  it('keeps the actions field within the 25-field limit when there are many labels', () => {
    const labels = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, `v${i}`]))
    const fields = discordPayload(sampleMessage({ actions: sampleActions, labels })).embeds[0]
      .fields
    expect(fields).toHaveLength(25)
    expect(fields[0]?.name).toBe('Actions')
  })

  it('adds no actions field when the message has none', () => {
    const fields = discordPayload(sampleMessage()).embeds[0].fields
    expect(fields.map((field) => field.name)).not.toContain('Actions')
  })
})
