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
import { slackChannel, slackColor, slackPayload } from './slack.js'

runChannelContract('slack', {
  definition: slackChannel,
  makeConfig: (url) => ({ url: `${url}/services/T000/B000/XXXX` }),
  startReceiver: httpContractReceiver,
  // The button URL as is, and the fallback `<url|label>` link with `&` escaped for mrkdwn.
  actionUrlForms: (url) => [`"url":"${url}"`, `<${url.replace(/&/g, '&amp;')}|`],
  // Slack's mrkdwn has `<url|x>` links and no Markdown links.
  markup: ['slack'],
})

describe('slack channel', () => {
  let receiver: LoopbackReceiver

  beforeEach(async () => {
    receiver = await startLoopbackReceiver()
  })

  afterEach(async () => {
    await receiver.close()
  })

  async function payloadFor(message: NotificationMessage, config: Record<string, unknown> = {}) {
    const outcome = await slackChannel.send(
      slackChannel.configSchema.parse({ url: `${receiver.url}/services/T/B/X`, ...config }),
      message,
      { signal: new AbortController().signal },
    )
    expect(outcome.kind).toBe('delivered')
    const [request] = await receiver.waitFor(1)
    return JSON.parse(request?.body ?? '') as Record<string, unknown>
  }

  it('posts text and one attachment with colour, title link, label fields and a timestamp', async () => {
    const payload = await payloadFor(sampleMessage(), {
      channel: '#ops',
      username: 'Keel',
      iconEmoji: ':rotating_light:',
    })
    expect(payload).toEqual({
      text: '[FIRING] web-home is DOWN',
      channel: '#ops',
      username: 'Keel',
      icon_emoji: ':rotating_light:',
      attachments: [
        {
          color: '#d00000',
          title: 'web-home is DOWN',
          title_link: 'https://keel.example.org/incidents/42',
          text: 'GET https://example.org/ answered 503 twice in a row',
          fields: [
            { title: 'severity', value: 'critical', short: true },
            { title: 'alertname', value: 'MonitorUnhealthy', short: true },
            { title: 'monitor', value: 'web-home', short: true },
            { title: 'service', value: 'web', short: true },
          ],
          ts: 1_740_830_400,
          fallback: '[FIRING] web-home is DOWN',
        },
      ],
    })
  })

  it('leaves out the optional fields it was not given', async () => {
    const payload = await payloadFor(sampleMessage({ url: undefined }))
    expect(Object.keys(payload).sort()).toEqual(['attachments', 'text'])
    expect(JSON.stringify(payload)).not.toContain('title_link')
  })

  it('escapes the characters Slack reads as markup, so labels cannot inject mentions', async () => {
    const payload = await payloadFor(
      sampleMessage({ title: 'a <!channel> & b', labels: { owner: '<@U123>' } }),
    )
    const text = JSON.stringify(payload)
    expect(text).toContain('a &lt;!channel&gt; &amp; b')
    expect(text).toContain('&lt;@U123&gt;')
    expect(text).not.toContain('<!channel>')
  })

  it('fails with the response text when Slack says the channel is gone', async () => {
    receiver.respondWith({ status: 404, body: 'channel_not_found' })
    const outcome = await slackChannel.send(
      slackChannel.configSchema.parse({ url: `${receiver.url}/services/T/B/secret-token` }),
      sampleMessage(),
      { signal: new AbortController().signal },
    )
    expect(outcome).toMatchObject({ kind: 'failed' })
    if (outcome.kind !== 'failed') return
    expect(outcome.reason).toContain('HTTP 404: channel_not_found')
    expect(outcome.reason).not.toContain('secret-token')
  })

  it.each([
    ['a resolved alert is green whatever its severity', 'resolved', 'critical', '#2eb886'],
    ['a firing critical alert is red', 'firing', 'critical', '#d00000'],
    ['a firing error alert is red', 'firing', 'error', '#d00000'],
    ['a firing warning alert is orange', 'firing', 'warning', '#ff9900'],
    ['a firing info alert is blue', 'firing', 'info', '#439fe0'],
    ['a firing alert of an unknown severity is grey', 'firing', 'bogus', '#808080'],
  ] as const)('%s', (_name, status, severity, color) => {
    expect(slackColor({ status, severity })).toBe(color)
  })
})

describe('slack payload actions', () => {
  it('renders the actions and the Keel link as Block Kit url buttons under the headline', () => {
    const payload = slackPayload(sampleMessage({ actions: sampleActions }))
    expect(payload.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: '[FIRING] web-home is DOWN' } },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: 'keel-acknowledge',
            text: { type: 'plain_text', text: 'Acknowledge' },
            url: sampleActions[0]!.url,
            style: 'primary',
          },
          {
            type: 'button',
            action_id: 'keel-resolve',
            text: { type: 'plain_text', text: 'Resolve' },
            url: sampleActions[1]!.url,
          },
          {
            type: 'button',
            action_id: 'keel-open',
            text: { type: 'plain_text', text: 'Open in Keel' },
            url: 'https://keel.example.org/incidents/42',
          },
        ],
      },
    ])
  })

  it('puts the links in the plain-text fallback, with `&` escaped for mrkdwn', () => {
    const payload = slackPayload(sampleMessage({ actions: sampleActions }))
    const [headline, links] = payload.text.split('\n')
    expect(headline).toBe('[FIRING] web-home is DOWN')
    expect(links).toBe(
      sampleActions
        .map((action) => `<${action.url.replace(/&/g, '&amp;')}|${action.label}>`)
        .concat('<https://keel.example.org/incidents/42|Open in Keel>')
        .join(' · '),
    )
  })

  it('sends no blocks when the message has no actions', () => {
    expect(slackPayload(sampleMessage())).not.toHaveProperty('blocks')
  })
})
