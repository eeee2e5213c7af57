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
import { signWebhook, verifyWebhookSignature, webhookChannel, webhookPayload } from './webhook.js'

runChannelContract('webhook', {
  definition: webhookChannel,
  makeConfig: (url) => ({ url: `${url}/hooks/keel` }),
  startReceiver: httpContractReceiver,
  identifying: (message) => [message.id, message.fingerprint],
  actionUrlForms: (url) => [`"url":"${url}"`],
  markup: [],
})

const now = Date.UTC(2025, 2, 1, 12, 0, 30)
const clock = { now: () => now }

describe('webhook channel', () => {
  let receiver: LoopbackReceiver

  beforeEach(async () => {
    receiver = await startLoopbackReceiver()
  })

  afterEach(async () => {
    await receiver.close()
  })

  function send(config: Record<string, unknown>) {
    return webhookChannel.send(
      webhookChannel.configSchema.parse({ url: `${receiver.url}/hook`, ...config }),
      sampleMessage(),
      { signal: new AbortController().signal, clock },
    )
  }

  it('posts the version 1 JSON body with the delivery id and custom headers', async () => {
    const outcome = await send({ headers: { Authorization: 'Bearer t0ken' } })
    expect(outcome.kind).toBe('delivered')
    const [request] = await receiver.waitFor(1)
    expect(request?.method).toBe('POST')
    expect(request?.path).toBe('/hook')
    expect(request?.headers['content-type']).toMatch(/^application\/json/)
    expect(request?.headers['authorization']).toBe('Bearer t0ken')
    expect(request?.headers['x-keel-delivery']).toBe('ntf-01jq7c9x4m')
    expect(request?.headers['x-keel-signature']).toBeUndefined()
    expect(JSON.parse(request?.body ?? '')).toEqual({
      version: '1',
      id: 'ntf-01jq7c9x4m',
      status: 'firing',
      severity: 'critical',
      title: 'web-home is DOWN',
      text: 'GET https://example.org/ answered 503 twice in a row',
      fingerprint: '8f2c6b1d0e9a7c35',
      labels: { alertname: 'MonitorUnhealthy', monitor: 'web-home', service: 'web' },
      annotations: { summary: 'web-home is DOWN' },
      at: '2025-03-01T12:00:00.000Z',
      url: 'https://keel.example.org/incidents/42',
    })
  })

  it('signs the body so verifyWebhookSignature accepts it with the secret and not with another', async () => {
    await send({ secret: 's3cret-shared' })
    const [request] = await receiver.waitFor(1)
    const timestamp = String(request?.headers['x-keel-timestamp'])
    const signature = String(request?.headers['x-keel-signature'])
    const body = request?.body ?? ''
    expect(timestamp).toBe(String(now / 1000))
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/)
    expect(verifyWebhookSignature('s3cret-shared', timestamp, body, signature, now / 1000)).toBe(
      true,
    )
    expect(verifyWebhookSignature('wrong-secret', timestamp, body, signature, now / 1000)).toBe(
      false,
    )
    expect(
      verifyWebhookSignature('s3cret-shared', timestamp, `${body} `, signature, now / 1000),
    ).toBe(false)
  })

  it('answers 503 with Retry-After in seconds as a retry after that many ms', async () => {
    receiver.respondWith({ status: 503, headers: { 'Retry-After': '120' }, body: 'busy' })
    expect(await send({})).toEqual({
      kind: 'retry',
      reason: `webhook channel: ${new URL(receiver.url).host} answered HTTP 503: busy`,
      afterMs: 120_000,
    })
  })

  it('answers 429 with Retry-After as an HTTP date as a retry until that date', async () => {
    receiver.respondWith({
      status: 429,
      headers: { 'Retry-After': new Date(now + 90_000).toUTCString() },
    })
    expect(await send({})).toMatchObject({ kind: 'retry', afterMs: 90_000 })
  })

  it('reports a rejected payload with its status and at most 200 characters of the body', async () => {
    receiver.respondWith({ status: 422, body: `field "title" ${'x'.repeat(5_000)}` })
    const outcome = await send({})
    expect(outcome.kind).toBe('failed')
    if (outcome.kind !== 'failed') return
    expect(outcome.reason).toContain('HTTP 422: field "title" xxx')
    const snippet = outcome.reason.slice(outcome.reason.indexOf(': field') + 2)
    expect(snippet.slice(0, snippet.indexOf(';')).length).toBeLessThanOrEqual(200)
  })

  it('gives up on its own after `timeout` when the receiver never answers', async () => {
    receiver.respondWith({ delayMs: Infinity })
    const outcome = await send({ timeout: '300ms' })
    expect(outcome).toMatchObject({ kind: 'retry', reason: expect.stringContaining('no answer') })
  })

  it('does not follow a redirect, and says to fix the url', async () => {
    receiver.respondWith({ status: 301, headers: { Location: 'https://elsewhere.example/' } })
    const outcome = await send({})
    expect(outcome).toMatchObject({ kind: 'failed', reason: expect.stringContaining('`url`') })
    expect(receiver.requests).toHaveLength(1)
  })
})

describe('verifyWebhookSignature', () => {
  const body = '{"version":"1"}'
  const signature = signWebhook('k', 1_740_830_400, body)

  it.each([
    [
      'accepts the exact signature at the same second',
      'k',
      '1740830400',
      signature,
      1_740_830_400,
      true,
    ],
    ['accepts a timestamp 300 s old', 'k', '1740830400', signature, 1_740_830_700, true],
    [
      'rejects a timestamp 301 s old as a replay',
      'k',
      '1740830400',
      signature,
      1_740_830_701,
      false,
    ],
    [
      'rejects a timestamp from the future beyond tolerance',
      'k',
      '1740830400',
      signature,
      1_740_830_000,
      false,
    ],
    ['rejects another secret', 'other', '1740830400', signature, 1_740_830_400, false],
    [
      'rejects another timestamp with the same signature',
      'k',
      '1740830401',
      signature,
      1_740_830_400,
      false,
    ],
    ['rejects a non-numeric timestamp', 'k', '17408e5', signature, 1_740_830_400, false],
    [
      'rejects a truncated signature',
      'k',
      '1740830400',
      signature.slice(0, -2),
      1_740_830_400,
      false,
    ],
    [
      'rejects a signature without the sha256= prefix',
      'k',
      '1740830400',
      signature.slice(7),
      1_740_830_400,
      false,
    ],
  ])('%s', (_name, secret, timestamp, header, nowSeconds, expected) => {
    expect(verifyWebhookSignature(secret, timestamp, body, header, nowSeconds)).toBe(expected)
  })
})

describe('webhook payload actions', () => {
  it('lists the one-click actions with kind, label and URL, keeping version 1', () => {
    const payload = webhookPayload(sampleMessage({ actions: sampleActions }))
    expect(payload.version).toBe('1')
    expect(payload.actions).toEqual(sampleActions)
  })

  it('leaves out `actions` when the message has none', () => {
    expect(webhookPayload(sampleMessage())).not.toHaveProperty('actions')
    expect(webhookPayload(sampleMessage({ actions: [] }))).not.toHaveProperty('actions')
  })
})
