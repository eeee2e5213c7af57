import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  startLoopbackReceiver,
  type LoopbackReceiver,
} from '../../test/helpers/loopback-receiver.js'
import {
  httpContractReceiver,
  runChannelContract,
  sampleActions,
  sampleMessage,
} from './channel.contract.js'
import { ntfyChannel, ntfyPayload, ntfyPriority } from './ntfy.js'

runChannelContract('ntfy', {
  definition: ntfyChannel,
  makeConfig: (url) => ({ server: url, topic: 'keel-alerts' }),
  startReceiver: httpContractReceiver,
  actionUrlForms: (url) => [`"url":"${url}"`],
  // Keel does not ask ntfy for Markdown, so the text is shown as written.
  markup: [],
})

describe('ntfy channel', () => {
  let receiver: LoopbackReceiver

  beforeEach(async () => {
    receiver = await startLoopbackReceiver()
  })

  afterEach(async () => {
    await receiver.close()
  })

  function send(message = sampleMessage(), config: Record<string, unknown> = {}) {
    return ntfyChannel.send(
      ntfyChannel.configSchema.parse({ server: receiver.url, topic: 'keel-alerts', ...config }),
      message,
      { signal: new AbortController().signal },
    )
  }

  it('publishes JSON to the server root with title, priority, tags and a click link', async () => {
    expect((await send(sampleMessage(), { server: `${receiver.url}/` })).kind).toBe('delivered')
    const [request] = await receiver.waitFor(1)
    expect(request?.path).toBe('/')
    expect(request?.headers.authorization).toBeUndefined()
    expect(request?.headers.title).toBeUndefined()
    expect(JSON.parse(request?.body ?? '')).toEqual({
      topic: 'keel-alerts',
      title: '[FIRING] web-home is DOWN',
      message: [
        'GET https://example.org/ answered 503 twice in a row',
        '',
        'severity: critical',
        'alertname: MonitorUnhealthy',
        'monitor: web-home',
        'service: web',
      ].join('\n'),
      priority: 5,
      tags: ['rotating_light', 'critical'],
      click: 'https://keel.example.org/incidents/42',
    })
  })

  it('marks a resolved message with a check mark at low priority, without a link it lacks', () => {
    const payload = ntfyPayload(sampleMessage({ status: 'resolved', url: undefined }), 't')
    expect(payload).toMatchObject({ priority: 2, tags: ['white_check_mark', 'critical'] })
    expect(payload).not.toHaveProperty('click')
  })

  it('carries a non-ASCII title intact, which a Title header could not', async () => {
    await send(sampleMessage({ title: 'Datenbank überlastet 🔥 — 数据库' }))
    const [request] = await receiver.waitFor(1)
    expect(JSON.parse(request?.body ?? '')).toMatchObject({
      title: '[FIRING] Datenbank überlastet 🔥 — 数据库',
    })
  })

  it('sends the token as a Bearer token, and never repeats it in a reason', async () => {
    receiver.respondWith({
      status: 403,
      body: '{"code":40301,"http":403,"error":"forbidden tk_secret0123456789"}',
    })
    const outcome = await send(sampleMessage(), { token: 'tk_secret0123456789' })
    const [request] = await receiver.waitFor(1)
    expect(request?.headers.authorization).toBe('Bearer tk_secret0123456789')
    expect(outcome).toMatchObject({ kind: 'failed' })
    if (outcome.kind !== 'failed') return
    expect(outcome.reason).toContain('HTTP 403')
    expect(outcome.reason).toContain('`token`')
    expect(outcome.reason).not.toContain('tk_secret0123456789')
  })

  it('keeps the message within ntfy’s 4,096-byte limit', () => {
    const { message } = ntfyPayload(sampleMessage({ text: 'ü'.repeat(5_000) }), 't')
    expect(Buffer.byteLength(message, 'utf8')).toBeLessThanOrEqual(4_096)
    expect(message.endsWith('…')).toBe(true)
  })

  it.each([
    ['critical is urgent', 'firing', 'critical', 5],
    ['error is high', 'firing', 'error', 4],
    ['warning is the default', 'firing', 'warning', 3],
    ['info is low', 'firing', 'info', 2],
    ['an unknown severity is the default', 'firing', 'bogus', 3],
    ['resolved is low whatever the severity', 'resolved', 'critical', 2],
  ] as const)('priority: %s', (_name, status, severity, priority) => {
    expect(ntfyPriority({ status, severity })).toBe(priority)
  })

  it.each([
    ['a topic with a slash', { topic: 'ops/alerts' }, ['topic']],
    ['a topic over 64 characters', { topic: 't'.repeat(65) }, ['topic']],
    ['a server without a scheme', { server: 'ntfy.example.org' }, ['server']],
    ['an empty token', { token: '' }, ['token']],
  ])('rejects %s', (_name, override, path) => {
    const result = ntfyChannel.configSchema.safeParse({ topic: 'keel', ...override })
    expect(result.error?.issues[0]?.path).toEqual(path)
  })

  it('defaults to the public server', () => {
    expect(ntfyChannel.configSchema.parse({ topic: 'keel' })).toEqual({
      server: 'https://ntfy.sh',
      topic: 'keel',
      timeout: '10s',
    })
  })
})

describe('ntfy payload actions', () => {
  it('renders the actions as view buttons, then "Open in Keel", at most three', () => {
    const payload = ntfyPayload(sampleMessage({ actions: sampleActions }), 'keel-alerts')
    expect(payload.actions).toEqual([
      { action: 'view', label: 'Acknowledge', url: sampleActions[0]!.url, clear: true },
      { action: 'view', label: 'Resolve', url: sampleActions[1]!.url, clear: true },
      {
        action: 'view',
        label: 'Open in Keel',
        url: 'https://keel.example.org/incidents/42',
        clear: false,
      },
    ])
  })

  it("drops what does not fit in ntfy's three actions", () => {
    const actions = [...sampleActions, ...sampleActions]
    expect(ntfyPayload(sampleMessage({ actions }), 'keel-alerts').actions).toHaveLength(3)
  })

  it('sends no actions when the message has none', () => {
    expect(ntfyPayload(sampleMessage(), 'keel-alerts')).not.toHaveProperty('actions')
  })
})
