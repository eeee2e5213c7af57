import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startLoopbackReceiver } from '../../test/helpers/loopback-receiver.js'
import { startSmtpReceiver } from '../../test/helpers/smtp-receiver.js'
import type { AnyChannelDefinition, NotificationMessage } from './channel.js'
import { channelSpecSchema, sendNotification } from './index.js'

/** How a contract receiver answers the next deliveries. */
export type ReceiverBehaviour = 'accept' | 'transient' | 'permanent' | 'hang'

/**
 * A real loopback receiver seen through what the contract needs, so one suite covers HTTP and
 * SMTP channels alike.
 */
export interface ContractReceiver {
  /** Handed to `makeConfig`: a base URL for HTTP receivers, `host:port` for SMTP. */
  address: string
  /** Text the failed reason must contain after a permanent refusal (`400`, `550`). */
  permanentMarker: string
  behave(behaviour: ReceiverBehaviour): void
  /** The raw text of every accepted delivery so far (HTTP body, SMTP message with headers). */
  deliveries(): string[]
  waitForDeliveries(count: number, timeoutMs: number): Promise<void>
  /** Resolves once the channel has reached the receiver `count` times, answered or not. */
  waitForAttempts(count: number, timeoutMs: number): Promise<void>
  close(): Promise<void>
}

/** What `runChannelContract` needs to exercise one channel. */
export interface ChannelContractOptions {
  definition: AnyChannelDefinition
  /** The channel's keel.yaml fields (without `type`) pointing at the receiver's `address`. */
  makeConfig(address: string): Record<string, unknown>
  startReceiver(): Promise<ContractReceiver>
  /** Strings a delivery of `message` must contain; the title always is one. */
  identifying?(message: NotificationMessage): string[]
  /**
   * How an action URL must appear in a delivery, escaped for the channel's format (default: as
   * is, which is also how a JSON string carries it); every form must be present.
   */
  actionUrlForms?(url: string): string[]
  /** Turns a raw delivery into the text the forms are looked for in (say, decoding a mail body). */
  decodeDelivery?(raw: string): string
  /**
   * The markup the platform reads in the delivery, so the contract knows which link syntaxes
   * would be live there: Markdown `[x](url)` and `<url>`, Slack's `<url|x>`, or HTML `<a href>`.
   * An empty list means the delivery is data shown as is (a webhook's JSON, ntfy's plain text).
   */
  markup: readonly ('markdown' | 'slack' | 'html')[]
  /**
   * The part of a decoded delivery the platform reads as `markup`, leaving out what the format
   * shows literally (an Adaptive Card TextRun, a text/plain mail part); the whole by default.
   */
  markupOf?(delivery: string): string
}

/** Alert text from an ingest sender that tries to add links in every markup Keel writes. */
export const hostileText =
  '[click](https://evil.example/md) <https://evil.example/slack|x> <https://evil.example/auto> <b>bold</b> <a href="https://evil.example/html">y</a>'

/** The patterns of a live link to evil.example in each markup, and in any JSON link field. */
const liveLinks = {
  // A backslash before `<` makes it text in Markdown.
  markdown: [/\]\s*\(\s*<?https?:\/\/evil\.example/, /(?<!\\)<https?:\/\/evil\.example/],
  slack: [/(?<!\\)<https?:\/\/evil\.example[^>]*>/],
  html: [/<a\b[^>]*href\s*=\s*["']?https?:\/\/evil\.example/i],
  json: [/"(?:url|title_link|click|href)"\s*:\s*"https?:\/\/evil\.example/],
}

const generous = 10_000

/** A firing notification at a fixed instant, for contract and channel tests. */
export function sampleMessage(overrides: Partial<NotificationMessage> = {}): NotificationMessage {
  return {
    id: 'ntf-01jq7c9x4m',
    status: 'firing',
    severity: 'critical',
    title: 'web-home is DOWN',
    text: 'GET https://example.org/ answered 503 twice in a row',
    fingerprint: '8f2c6b1d0e9a7c35',
    labels: { alertname: 'MonitorUnhealthy', monitor: 'web-home', service: 'web' },
    annotations: { summary: 'web-home is DOWN' },
    at: Date.UTC(2025, 2, 1, 12, 0, 0),
    url: 'https://keel.example.org/incidents/42',
    ...overrides,
  }
}

/** Two one-click actions whose URLs carry a query string with `&`, as signed links may. */
export const sampleActions: NonNullable<NotificationMessage['actions']> = [
  {
    kind: 'acknowledge',
    label: 'Acknowledge',
    url: 'https://keel.example.org/a/eyJpIjo0MiwiYSI6ImFjayJ9.c2lnLWFjaw?via=page&step=3',
  },
  {
    kind: 'resolve',
    label: 'Resolve',
    url: 'https://keel.example.org/a/eyJpIjo0MiwiYSI6InJlc29sdmUifQ.c2lnLXJlcw?via=page&step=3',
  },
]

/** Wraps the loopback HTTP receiver: transient is 503, permanent is 400, hang never answers. */
export async function httpContractReceiver(): Promise<ContractReceiver> {
  const receiver = await startLoopbackReceiver()
  return {
    address: receiver.url,
    permanentMarker: '400',
    behave(behaviour) {
      receiver.respondWith(
        behaviour === 'accept'
          ? { status: 200, body: 'ok' }
          : behaviour === 'transient'
            ? { status: 503, body: 'receiver is restarting' }
            : behaviour === 'permanent'
              ? { status: 400, body: 'invalid_payload: missing field' }
              : { delayMs: Infinity },
      )
    },
    deliveries: () =>
      receiver.requests
        .filter(({ response }) => {
          const status = response.status ?? 200
          return status >= 200 && status < 300 && response.delayMs !== Infinity
        })
        .map((request) => request.body),
    waitForDeliveries: async (count, timeoutMs) => void (await receiver.waitFor(count, timeoutMs)),
    waitForAttempts: async (count, timeoutMs) => void (await receiver.waitFor(count, timeoutMs)),
    close: () => receiver.close(),
  }
}

/** Wraps the SMTP receiver: transient is 451 and permanent 550 at RCPT, hang withholds the greeting. */
export async function smtpContractReceiver(): Promise<ContractReceiver> {
  const receiver = await startSmtpReceiver()
  return {
    address: receiver.address,
    permanentMarker: '550',
    behave(behaviour) {
      receiver.stallAt(behaviour === 'hang' ? 'connect' : undefined)
      receiver.rejectWith(
        behaviour === 'transient'
          ? { stage: 'rcpt', code: 451, message: '4.3.0 mailbox temporarily unavailable' }
          : behaviour === 'permanent'
            ? { stage: 'rcpt', code: 550, message: '5.1.1 no such user' }
            : undefined,
      )
    },
    deliveries: () => receiver.messages.map((message) => message.raw),
    waitForDeliveries: async (count, timeoutMs) => void (await receiver.waitFor(count, timeoutMs)),
    waitForAttempts: (count, timeoutMs) => receiver.waitForConnections(count, timeoutMs),
    close: () => receiver.close(),
  }
}

/**
 * The behaviour every channel shares, run against a real receiver on loopback: delivered once,
 * retry on a temporary refusal, failed with a reason on a permanent one, and retry rather than
 * a hang when the receiver is silent or gone.
 */
export function runChannelContract(name: string, options: ChannelContractOptions): void {
  const { definition } = options

  describe(`${name} channel contract`, () => {
    let receiver: ContractReceiver
    let closed = false

    beforeEach(async () => {
      receiver = await options.startReceiver()
      closed = false
    })

    afterEach(async () => {
      if (!closed) await receiver.close()
    })

    function config(address = receiver.address) {
      return definition.configSchema.parse(options.makeConfig(address))
    }

    function send(message: NotificationMessage, signal = new AbortController().signal) {
      return definition.send(config(), message, { signal })
    }

    it('delivers a firing message, and the receiver sees it once with its identifying content', async () => {
      const message = sampleMessage()
      const outcome = await send(message)
      expect(outcome.kind).toBe('delivered')
      await receiver.waitForDeliveries(1, generous)
      expect(receiver.deliveries()).toHaveLength(1)
      const expected = [message.title, ...(options.identifying?.(message) ?? [])]
      for (const text of expected) expect(receiver.deliveries()[0]).toContain(text)
    })

    it('carries both one-click action URLs intact, escaped for its format', async () => {
      const message = sampleMessage({ actions: sampleActions })
      expect((await send(message)).kind).toBe('delivered')
      await receiver.waitForDeliveries(1, generous)
      const raw = receiver.deliveries()[0] ?? ''
      const delivery = options.decodeDelivery?.(raw) ?? raw
      for (const action of sampleActions) {
        for (const form of options.actionUrlForms?.(action.url) ?? [action.url]) {
          expect(delivery).toContain(form)
        }
      }
      expect(delivery).not.toContain('&amp;amp;')
      expect(delivery).not.toContain('\\u0026')
    })

    it('shows hostile alert text (Markdown, mrkdwn and HTML links) as text, never as a link to it', async () => {
      const message = sampleMessage({
        title: `web-home ${hostileText}`,
        text: hostileText,
        labels: { ...sampleMessage().labels, summary: hostileText },
        annotations: { summary: hostileText, runbook_url: 'javascript:alert(1)' },
      })
      expect((await send(message)).kind).toBe('delivered')
      await receiver.waitForDeliveries(1, generous)
      const raw = receiver.deliveries()[0] ?? ''
      const delivery = options.decodeDelivery?.(raw) ?? raw
      const markup = options.markupOf?.(delivery) ?? delivery
      const patterns = [...liveLinks.json, ...options.markup.flatMap((kind) => liveLinks[kind])]
      for (const pattern of patterns) expect(markup).not.toMatch(pattern)
      expect(markup).not.toMatch(/href\s*=\s*["']?javascript:/i)
    })

    it('delivers a resolved message too', async () => {
      const message = sampleMessage({ status: 'resolved', title: 'web-home is UP again' })
      expect((await send(message)).kind).toBe('delivered')
      expect(receiver.deliveries()[0]).toContain('web-home is UP again')
    })

    it('asks for a retry when the receiver is temporarily unavailable', async () => {
      receiver.behave('transient')
      const outcome = await send(sampleMessage())
      expect(outcome.kind).toBe('retry')
      expect(receiver.deliveries()).toHaveLength(0)
    })

    it('fails with a reason naming the refusal when the receiver rejects the message', async () => {
      receiver.behave('permanent')
      const outcome = await send(sampleMessage())
      expect(outcome).toMatchObject({ kind: 'failed' })
      if (outcome.kind !== 'failed') return
      expect(outcome.reason).toContain(receiver.permanentMarker)
    })

    it('returns retry, not a hang, when the receiver never answers and the attempt is aborted', async () => {
      receiver.behave('hang')
      const controller = new AbortController()
      const pending = send(sampleMessage(), controller.signal)
      await receiver.waitForAttempts(1, generous)
      controller.abort()
      const outcome = await pending
      expect(outcome.kind).toBe('retry')
      expect(receiver.deliveries()).toHaveLength(0)
    })

    it('returns retry when nothing listens at the address any more', async () => {
      await receiver.close()
      closed = true
      const outcome = await send(sampleMessage())
      expect(outcome.kind).toBe('retry')
    })

    it('is registered under its kind, and sendNotification delivers a parsed spec', async () => {
      const spec = channelSpecSchema.parse({
        type: definition.kind,
        ...options.makeConfig(receiver.address),
      })
      const outcome = await sendNotification(spec, sampleMessage(), {
        signal: new AbortController().signal,
      })
      expect(outcome.kind).toBe('delivered')
      expect(receiver.deliveries()).toHaveLength(1)
    })

    it('parses its own parsed config to the same value, so stored specs stay valid', () => {
      const once = config()
      expect(definition.configSchema.parse(once)).toEqual(once)
    })

    it('lists only fields of its config schema as secret', () => {
      const fields = Object.keys(definition.configSchema.shape)
      for (const field of definition.secretFields) expect(fields).toContain(field)
    })
  })
}
