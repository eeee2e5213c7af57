import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  startLoopbackReceiver,
  type LoopbackReceiver,
} from '../../test/helpers/loopback-receiver.js'
import type { DeliveryOutcome, NotificationMessage } from './channel.js'
import {
  httpContractReceiver,
  runChannelContract,
  sampleActions,
  sampleMessage,
} from './channel.contract.js'
import { escapeTelegramHtml, telegramChannel, telegramPayload } from './telegram.js'

const token = '7012345678:AAHk-Secret_Token_Value-0123456789ab'

runChannelContract('telegram', {
  definition: telegramChannel,
  makeConfig: (url) => ({ botToken: token, chatId: -1001234567890, apiUrl: url }),
  startReceiver: httpContractReceiver,
  actionUrlForms: (url) => [`"url":"${url}"`],
  markup: ['html'],
})

function reasonOf(outcome: DeliveryOutcome): string {
  return outcome.kind === 'delivered' ? (outcome.detail ?? '') : outcome.reason
}

describe('telegram channel', () => {
  let receiver: LoopbackReceiver

  beforeEach(async () => {
    receiver = await startLoopbackReceiver()
  })

  afterEach(async () => {
    await receiver.close()
  })

  function send(message = sampleMessage(), config: Record<string, unknown> = {}) {
    return telegramChannel.send(
      telegramChannel.configSchema.parse({
        botToken: token,
        chatId: -1001234567890,
        apiUrl: receiver.url,
        ...config,
      }),
      message,
      { signal: new AbortController().signal },
    )
  }

  function refuse(status: number, body: Record<string, unknown>) {
    receiver.respondWith({
      status,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ok: false, error_code: status, ...body }),
    })
  }

  it('posts sendMessage to the bot path with bold HTML, label lines and a link', async () => {
    receiver.respondWith({ status: 200, body: '{"ok":true,"result":{"message_id":7}}' })
    expect((await send(sampleMessage(), { apiUrl: `${receiver.url}/` })).kind).toBe('delivered')
    const [request] = await receiver.waitFor(1)
    expect(request?.path).toBe(`/bot${token}/sendMessage`)
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(request?.body ?? '')).toEqual({
      chat_id: -1001234567890,
      text: [
        '<b>[FIRING] web-home is DOWN</b>',
        'GET https://example.org/ answered 503 twice in a row',
        '',
        '<b>severity</b>: critical',
        '<b>alertname</b>: MonitorUnhealthy',
        '<b>monitor</b>: web-home',
        '<b>service</b>: web',
        '',
        '<a href="https://keel.example.org/incidents/42">Open in Keel</a>',
      ].join('\n'),
      parse_mode: 'HTML',
      disable_web_page_preview: true,
    })
  })

  it('sends a channel username as chat_id and asks for a silent message when told', async () => {
    await send(sampleMessage({ url: undefined }), {
      chatId: '@keel_alerts',
      disableNotification: true,
    })
    const [request] = await receiver.waitFor(1)
    const body = JSON.parse(request?.body ?? '') as Record<string, unknown>
    expect(body).toMatchObject({ chat_id: '@keel_alerts', disable_notification: true })
    expect(String(body.text)).not.toContain('<a href')
  })

  it('escapes the HTML Telegram parses, so alert text cannot add markup', () => {
    const { text } = telegramPayload(
      sampleMessage({ title: '<b>x</b> & "y"', text: '<a href="z">', labels: { 'a<b': '1>0' } }),
      { chatId: 1 },
    )
    expect(text).toContain('<b>[FIRING] &lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;</b>')
    expect(text).toContain('&lt;a href=&quot;z&quot;&gt;')
    expect(text).toContain('<b>a&lt;b</b>: 1&gt;0')
  })

  it('keeps the text within 4,096 characters and never cuts an entity in half', () => {
    const { text } = telegramPayload(sampleMessage({ text: '&<'.repeat(5_000) }), { chatId: 1 })
    expect(text.length).toBeLessThanOrEqual(4_096)
    expect(text).toContain('…')
    expect(text.replace(/&(amp|lt|gt|quot);/g, '')).not.toContain('&')
  })

  it('retries a 429 after the delay in parameters.retry_after', async () => {
    refuse(429, {
      description: 'Too Many Requests: retry after 7',
      parameters: { retry_after: 7 },
    })
    expect(await send()).toEqual({
      kind: 'retry',
      reason: expect.stringContaining('HTTP 429: Too Many Requests: retry after 7'),
      afterMs: 7_000,
    })
  })

  it.each([
    [
      'an unknown chat',
      400,
      { description: 'Bad Request: chat not found' },
      ['Bad Request: chat not found', '`chatId`'],
    ],
    [
      'a blocked bot',
      403,
      { description: 'Forbidden: bot was blocked by the user' },
      ['Forbidden: bot was blocked by the user', 'add the bot to the chat'],
    ],
    [
      'a group that became a supergroup',
      400,
      {
        description: 'Bad Request: group chat was upgraded to a supergroup chat',
        parameters: { migrate_to_chat_id: -1009876543210 },
      },
      ['set `chatId` to -1009876543210'],
    ],
    ['a revoked token', 401, { description: 'Unauthorized' }, ['Unauthorized', '`botToken`']],
    ['a mistyped token', 404, { description: 'Not Found' }, ['`botToken` and `apiUrl`']],
  ])('fails with Telegram’s description for %s', async (_name, status, body, expected) => {
    refuse(status, body)
    const outcome = await send()
    expect(outcome.kind).toBe('failed')
    for (const text of expected) expect(reasonOf(outcome)).toContain(text)
    expect(reasonOf(outcome)).not.toContain(token)
  })

  it('retries a 5xx even when Telegram explains it', async () => {
    refuse(502, { description: 'Bad Gateway' })
    expect(await send()).toMatchObject({ kind: 'retry' })
  })

  it('never puts the token in a reason, even when an answer repeats the URL', async () => {
    const outcomes = [] as DeliveryOutcome[]
    receiver.respondOnce({
      status: 302,
      headers: { location: `https://api.telegram.org/bot${token}/sendMessage` },
    })
    outcomes.push(await send())
    receiver.respondOnce({ status: 400, body: `bad request for /bot${token}/sendMessage` })
    outcomes.push(await send())
    receiver.respondOnce({ status: 200, body: `{"ok":true,"echo":"${token}"}` })
    outcomes.push(await send())
    await receiver.close()
    outcomes.push(await send())
    expect(outcomes.map((outcome) => outcome.kind)).toEqual([
      'failed',
      'failed',
      'delivered',
      'retry',
    ])
    for (const outcome of outcomes) expect(reasonOf(outcome)).not.toContain(token.split(':')[1])
    receiver = await startLoopbackReceiver()
  })

  it.each([
    ['a token without the bot id', { botToken: 'AAHk-secret' }, ['botToken']],
    ['a chat id with spaces', { chatId: 'ops chat' }, ['chatId']],
    ['a fractional chat id', { chatId: 1.5 }, ['chatId']],
    ['another parse mode', { parseMode: 'MarkdownV2' }, ['parseMode']],
    ['an API URL without a scheme', { apiUrl: 'api.telegram.org' }, ['apiUrl']],
  ])('rejects %s, and the message never echoes the value', (_name, override, path) => {
    const result = telegramChannel.configSchema.safeParse({
      botToken: token,
      chatId: 42,
      ...override,
    })
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.path).toEqual(path)
    expect(result.error?.issues[0]?.message).toMatch(new RegExp(`^${path[0]} must`))
    expect(JSON.stringify(result.error?.issues.map((issue) => issue.message))).not.toContain(
      'secret',
    )
  })

  it('defaults to the public Bot API and HTML', () => {
    expect(telegramChannel.configSchema.parse({ botToken: token, chatId: '-100123' })).toEqual({
      botToken: token,
      chatId: '-100123',
      apiUrl: 'https://api.telegram.org',
      parseMode: 'HTML',
      timeout: '10s',
    })
  })

  it('escapes exactly the four characters Telegram’s HTML mode knows', () => {
    expect(escapeTelegramHtml(`<&>"'`)).toBe(`&lt;&amp;&gt;&quot;'`)
  })
})

describe('telegram payload', () => {
  it('lists as many labels as fit and keeps a link to Keel', () => {
    const labels = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`label${i}`, 'v'.repeat(300)]),
    )
    const message: NotificationMessage = sampleMessage({ text: 'x'.repeat(10_000), labels })
    const { text } = telegramPayload(message, { chatId: 1 })
    expect(text.length).toBeLessThanOrEqual(4_096)
    expect(text).toContain('<b>label0</b>')
    expect(text.endsWith('<a href="https://keel.example.org/incidents/42">Open in Keel</a>')).toBe(
      true,
    )
  })
})

describe('telegram payload actions', () => {
  const options = { chatId: -1001234567890 }

  it('renders the actions as one row of inline-keyboard URL buttons', () => {
    const payload = telegramPayload(sampleMessage({ actions: sampleActions }), options)
    expect(payload.reply_markup).toEqual({
      inline_keyboard: [
        [
          { text: 'Acknowledge', url: sampleActions[0]!.url },
          { text: 'Resolve', url: sampleActions[1]!.url },
        ],
      ],
    })
  })

  it('falls back to HTML links in the text for hosts Telegram refuses as button URLs', () => {
    const actions = sampleActions.map((action) => ({
      ...action,
      url: action.url.replace('https://keel.example.org', 'http://localhost:8080'),
    }))
    const payload = telegramPayload(sampleMessage({ actions }), options)
    expect(payload).not.toHaveProperty('reply_markup')
    for (const action of actions) {
      expect(payload.text).toContain(
        `<a href="${action.url.replace(/&/g, '&amp;')}">${action.label}</a>`,
      )
    }
  })

  it('sends no keyboard when the message has no actions', () => {
    expect(telegramPayload(sampleMessage(), options)).not.toHaveProperty('reply_markup')
  })
})
