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
import { escapeMattermostText, mattermostChannel, mattermostPayload } from './mattermost.js'

runChannelContract('mattermost', {
  definition: mattermostChannel,
  makeConfig: (url) => ({ url: `${url}/hooks/xq9k3mf8tbgdt8y1nrmwe5co3r` }),
  startReceiver: httpContractReceiver,
  actionUrlForms: (url) => [`](${url})`],
  markup: ['markdown', 'slack'],
})

describe('mattermost channel', () => {
  let receiver: LoopbackReceiver

  beforeEach(async () => {
    receiver = await startLoopbackReceiver()
  })

  afterEach(async () => {
    await receiver.close()
  })

  function send(message: NotificationMessage, config: Record<string, unknown> = {}) {
    return mattermostChannel.send(
      mattermostChannel.configSchema.parse({
        url: `${receiver.url}/hooks/secrethookid`,
        ...config,
      }),
      message,
      { signal: new AbortController().signal },
    )
  }

  async function payloadFor(message: NotificationMessage, config: Record<string, unknown> = {}) {
    expect((await send(message, config)).kind).toBe('delivered')
    const [request] = await receiver.waitFor(1)
    return JSON.parse(request?.body ?? '') as Record<string, unknown>
  }

  it('posts text and one attachment with colour, title link, label fields and a timestamp', async () => {
    const payload = await payloadFor(sampleMessage(), {
      channel: 'ops-alerts',
      username: 'Keel',
      iconUrl: 'https://keel.example.org/icon.png',
    })
    expect(payload).toEqual({
      text: '\\[FIRING\\] web-home is DOWN',
      channel: 'ops-alerts',
      username: 'Keel',
      icon_url: 'https://keel.example.org/icon.png',
      attachments: [
        {
          fallback: '\\[FIRING\\] web-home is DOWN',
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
        },
      ],
    })
  })

  it('leaves out the optional fields it was not given', async () => {
    const payload = await payloadFor(sampleMessage({ url: undefined }))
    expect(Object.keys(payload).sort()).toEqual(['attachments', 'text'])
    expect(JSON.stringify(payload)).not.toContain('title_link')
  })

  it('keeps labels from mentioning the channel or a user, in any of the syntaxes the server expands', async () => {
    const payload = await payloadFor(
      sampleMessage({
        title: 'disk full <!channel>',
        text: 'ping @here and @all, or <!here>',
        labels: { owner: '<@abc123>', team: '@channel' },
      }),
    )
    const text = JSON.stringify(payload)
    for (const forbidden of ['<!channel>', '<!here>', '<@abc123>', '@here', '@all', '@channel']) {
      expect(text).not.toContain(forbidden)
    }
  })

  it('sends a 403 refusal back as failed, naming the overrides a locked webhook refuses', async () => {
    receiver.respondWith({
      status: 403,
      body: '{"id":"web.incoming_webhook.channel_locked.app_error","status_code":403}',
    })
    const outcome = await send(sampleMessage(), { channel: 'elsewhere' })
    expect(outcome).toMatchObject({ kind: 'failed' })
    if (outcome.kind !== 'failed') return
    expect(outcome.reason).toContain('channel_locked')
    expect(outcome.reason).toContain('`channel`')
    expect(outcome.reason).not.toContain('secrethookid')
  })

  it('shortens long text and says how many labels did not fit', () => {
    const labels = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`l${i}`, 'v']))
    const payload = mattermostPayload(sampleMessage({ text: 'x'.repeat(20_000), labels }))
    const [attachment] = payload.attachments
    expect(attachment.text.length).toBeLessThanOrEqual(8_000)
    expect(attachment.text.endsWith('…')).toBe(true)
    expect(attachment.fields).toHaveLength(41)
    expect(attachment.fields.at(-1)).toEqual({ title: '…', value: '21 more labels', short: true })
  })

  it.each([
    ['Markdown emphasis', '**bold** _it_ ~~gone~~', '\\*\\*bold\\*\\* \\_it\\_ \\~\\~gone\\~\\~'],
    ['a link and an image', '[x](y) ![i](j)', '\\[x\\]\\(y\\) \\!\\[i\\]\\(j\\)'],
    ['a heading, a quote and a table', '# h > q | c', '\\# h \\> q \\| c'],
    ['code and backslashes', '`rm -rf` C:\\tmp', '\\`rm -rf\\` C:\\\\tmp'],
    ['an entity', '&lt;', '\\&lt;'],
    ['a mention', 'hi @alice', 'hi @\u2060alice'],
    ['an e-mail address, which mentions no one', 'ops@example.org', 'ops@example.org'],
    [
      'a URL, which must still link',
      'see https://x.example/a_b?c=1&d=[2]',
      'see https://x.example/a_b?c=1&d=\\[2\\]',
    ],
  ])('escapes %s', (_name, input, expected) => {
    expect(escapeMattermostText(input)).toBe(expected)
  })

  it('rejects an icon URL that is not http(s)', () => {
    const result = mattermostChannel.configSchema.safeParse({
      url: 'https://chat.example.org/hooks/x',
      iconUrl: 'icon.png',
    })
    expect(result.error?.issues[0]).toMatchObject({
      path: ['iconUrl'],
      message: 'iconUrl must be an http(s) image URL',
    })
  })
})

describe('mattermost payload actions', () => {
  it('renders the actions and the Keel link as Markdown links on a line of the post text', () => {
    const payload = mattermostPayload(sampleMessage({ actions: sampleActions }))
    expect(payload.text).toBe(
      '\\[FIRING\\] web-home is DOWN\n' +
        `[Acknowledge](${sampleActions[0]!.url}) · [Resolve](${sampleActions[1]!.url}) · ` +
        '[Open in Keel](https://keel.example.org/incidents/42)',
    )
    expect(payload.attachments[0].fallback).toBe('\\[FIRING\\] web-home is DOWN')
  })

  it('percent-encodes characters that would end the link target early', () => {
    const payload = mattermostPayload(
      sampleMessage({
        url: undefined,
        actions: [{ kind: 'resolve', label: 'Resolve', url: 'https://k.example/a/x(y)?q=1&r=2' }],
      }),
    )
    expect(payload.text).toContain('[Resolve](https://k.example/a/x%28y%29?q=1&r=2)')
  })

  it('adds no link line when the message has no actions', () => {
    expect(mattermostPayload(sampleMessage()).text).toBe('\\[FIRING\\] web-home is DOWN')
  })
})
