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
import { teamsChannel, teamsColor, teamsPayload, type TeamsCardElement } from './teams.js'

/** The label lines of a card body as `{ title, value }` pairs. */
function factsOf(body: TeamsCardElement[]): { title: string; value: string }[] {
  const container = body[3]
  if (container?.type !== 'Container') return []
  return container.items.map((line) => ({
    title: line.inlines[0]?.text ?? '',
    value: (line.inlines[1]?.text ?? '').replace(/^: /, ''),
  }))
}

/** A card as Teams reads Markdown in it: TextRuns are literal, so their text is left out. */
function teamsMarkup(delivery: string): string {
  return JSON.stringify(JSON.parse(delivery), (key, value: unknown) =>
    key === 'inlines'
      ? (value as { type: string }[]).filter((run) => run.type !== 'TextRun')
      : value,
  )
}

const workflowPath =
  '/workflows/4f1c/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SIGsecret42'

runChannelContract('teams', {
  definition: teamsChannel,
  makeConfig: (url) => ({ url: `${url}${workflowPath}` }),
  startReceiver: httpContractReceiver,
  actionUrlForms: (url) => [`"url":"${url}"`],
  markup: ['markdown'],
  markupOf: teamsMarkup,
})

describe('teams channel', () => {
  let receiver: LoopbackReceiver

  beforeEach(async () => {
    receiver = await startLoopbackReceiver()
  })

  afterEach(async () => {
    await receiver.close()
  })

  function send(message = sampleMessage()) {
    return teamsChannel.send(
      teamsChannel.configSchema.parse({ url: `${receiver.url}${workflowPath}` }),
      message,
      { signal: new AbortController().signal },
    )
  }

  async function payloadFor(message: NotificationMessage) {
    expect((await send(message)).kind).toBe('delivered')
    const [request] = await receiver.waitFor(1)
    return JSON.parse(request?.body ?? '') as Record<string, unknown>
  }

  it('posts one Adaptive Card with a coloured title, the text, label lines and a link, all as literal text runs', async () => {
    const payload = await payloadFor(sampleMessage())
    expect(payload).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              {
                type: 'RichTextBlock',
                inlines: [
                  {
                    type: 'TextRun',
                    text: '[FIRING] web-home is DOWN',
                    size: 'Medium',
                    weight: 'Bolder',
                    color: 'Attention',
                  },
                ],
              },
              {
                type: 'TextBlock',
                text: 'Fired at 2025-03-01 12:00:00 UTC',
                wrap: true,
                isSubtle: true,
                spacing: 'None',
              },
              {
                type: 'RichTextBlock',
                inlines: [
                  { type: 'TextRun', text: 'GET https://example.org/ answered 503 twice in a row' },
                ],
              },
              {
                type: 'Container',
                items: [
                  ['severity', 'critical'],
                  ['alertname', 'MonitorUnhealthy'],
                  ['monitor', 'web-home'],
                  ['service', 'web'],
                ].map(([title, value]) => ({
                  type: 'RichTextBlock',
                  inlines: [
                    { type: 'TextRun', text: title, weight: 'Bolder' },
                    { type: 'TextRun', text: `: ${value}` },
                  ],
                  spacing: 'None',
                })),
              },
            ],
            actions: [
              {
                type: 'Action.OpenUrl',
                title: 'Open in Keel',
                url: 'https://keel.example.org/incidents/42',
              },
            ],
            msteams: { width: 'Full' },
          },
        },
      ],
    })
  })

  it('leaves out the action when the message has no link', async () => {
    const payload = await payloadFor(sampleMessage({ url: undefined }))
    expect(JSON.stringify(payload)).not.toContain('Action.OpenUrl')
  })

  it('counts a Workflows 202 with an empty body as delivered', async () => {
    receiver.respondWith({ status: 202, body: '' })
    expect((await send()).kind).toBe('delivered')
  })

  it('counts a legacy connector 200 answering "1" as delivered', async () => {
    receiver.respondWith({ status: 200, body: '1' })
    expect((await send()).kind).toBe('delivered')
  })

  it.each([
    ['a wrapped 429 is retried', 429, 'retry'],
    ['a wrapped 502 is retried', 502, 'retry'],
    ['a wrapped 400 fails', 400, 'failed'],
    ['a wrapped 413 fails', 413, 'failed'],
  ] as const)(
    'reads a legacy connector 200 that reports a failure: %s',
    async (_name, code, kind) => {
      receiver.respondWith({
        status: 200,
        body: `Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error ${code} with ContextId tcid=0,server=msgapi,cv=abc.0..`,
      })
      const outcome = await send()
      expect(outcome.kind).toBe(kind)
      if (outcome.kind === 'delivered') return
      expect(outcome.reason).toContain(`HTTP error ${code}`)
      expect(outcome.reason).not.toContain('SIGsecret42')
    },
  )

  it('fails without repeating the signature when the webhook redirects to itself', async () => {
    receiver.respondWith({
      status: 301,
      headers: { location: `https://prod.example.logic.azure.com${workflowPath}` },
    })
    const outcome = await send()
    expect(outcome).toMatchObject({
      kind: 'failed',
      reason: expect.stringContaining('redirect to https://prod.example.logic.azure.com/…'),
    })
    if (outcome.kind === 'failed') expect(outcome.reason).not.toContain('SIGsecret42')
  })

  it('keeps a huge message under the size Teams accepts, even in three-byte characters', () => {
    const labels = Object.fromEntries(
      Array.from({ length: 200 }, (_, index) => [`label${index}`, '監視'.repeat(400)]),
    )
    const payload = teamsPayload(sampleMessage({ text: '障害'.repeat(10_000), labels }))
    expect(Buffer.byteLength(JSON.stringify(payload), 'utf8')).toBeLessThanOrEqual(24_000)
    const body = payload.attachments[0].content.body
    expect(body[2]).toMatchObject({ inlines: [{ text: expect.stringMatching(/^障害.*…$/) }] })
    const facts = factsOf(body)
    expect(facts.length).toBeGreaterThan(1)
    expect(facts.length).toBeLessThanOrEqual(31)
    for (const fact of facts) expect(fact.value.length).toBeLessThanOrEqual(500)
  })

  it('says how many labels did not fit', () => {
    const labels = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, 'v']))
    const body = teamsPayload(sampleMessage({ labels })).attachments[0].content.body
    const facts = factsOf(body)
    expect(facts).toHaveLength(31)
    expect(facts.at(-1)).toEqual({ title: '…', value: '11 more labels' })
  })

  it.each([
    ['a resolved alert is green whatever its severity', 'resolved', 'critical', 'Good'],
    ['a firing critical alert is red', 'firing', 'critical', 'Attention'],
    ['a firing error alert is red', 'firing', 'error', 'Attention'],
    ['a firing warning alert is orange', 'firing', 'warning', 'Warning'],
    ['a firing info alert is blue', 'firing', 'info', 'Accent'],
    ['a firing alert of an unknown severity keeps the default colour', 'firing', 'x', 'Default'],
  ] as const)('%s', (_name, status, severity, color) => {
    expect(teamsColor({ status, severity })).toBe(color)
  })

  it('rejects a URL that is not http(s), naming the field and what it should be', () => {
    const result = teamsChannel.configSchema.safeParse({ url: 'teams://channel' })
    expect(result.error?.issues[0]).toMatchObject({
      path: ['url'],
      message: expect.stringContaining('Workflows webhook'),
    })
  })
})

describe('teams payload actions', () => {
  it('adds an Action.OpenUrl per action before "Open in Keel"', () => {
    const card = teamsPayload(sampleMessage({ actions: sampleActions })).attachments[0].content
    expect(card.actions).toEqual([
      {
        type: 'Action.OpenUrl',
        title: 'Acknowledge',
        url: sampleActions[0]!.url,
        style: 'positive',
      },
      { type: 'Action.OpenUrl', title: 'Resolve', url: sampleActions[1]!.url },
      {
        type: 'Action.OpenUrl',
        title: 'Open in Keel',
        url: 'https://keel.example.org/incidents/42',
      },
    ])
  })

  it('keeps the action buttons when a huge text is cut to fit the card size limit', () => {
    const message = sampleMessage({ actions: sampleActions, text: '警'.repeat(20_000) })
    const payload = teamsPayload(message)
    expect(Buffer.byteLength(JSON.stringify(payload), 'utf8')).toBeLessThanOrEqual(24_000)
    expect(payload.attachments[0].content.actions).toHaveLength(3)
  })
})
