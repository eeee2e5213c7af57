import { request } from 'undici'
import { outboundDispatcher, outboundGuard } from '../checks/outbound-guard.js'
import { findPrivateTargetError } from '../checks/private-address.js'
import type { DeliveryOutcome } from './channel.js'

/** Response headers as undici and node:http give them. */
export type ResponseHeaders = Record<string, string | string[] | undefined>

/** What `postJson` needs for one HTTP delivery attempt. */
export interface PostJsonOptions {
  /** Names the sender in reasons (`webhook channel`), so operators see which channel failed. */
  channel: string
  url: string
  /** The serialized JSON body, sent byte for byte (signatures are computed over it). */
  body: string
  headers: Record<string, string>
  signal: AbortSignal
  timeoutMs: number
  /** The current instant, for `Retry-After` given as an HTTP date. */
  now: number
  /**
   * Reads an answer whose status alone misleads (a retry delay in a JSON body, an error wrapped
   * in a 200); returning undefined keeps the generic mapping.
   */
  interpret?: (answer: HttpAnswer) => DeliveryOutcome | undefined
  /** Hands 2xx answers to `interpret` too, instead of counting every 2xx as delivered. */
  interpretSuccess?: boolean
  /** The config fields that hints tell the operator to check. */
  fields?: HintFields
  /** Strings that must never appear in a reason, such as a token that sits in the URL path. */
  secrets?: readonly string[]
}

/** One HTTP answer as `interpret` sees it. */
export interface HttpAnswer {
  /** The prefix every reason starts with, such as `telegram channel: api.telegram.org`. */
  what: string
  status: number
  headers: ResponseHeaders
  /** The start of the body as sent (about 2 KiB), not flattened or cut to a snippet. */
  body: string
  now: number
}

/** How hints name the config fields to fix; the defaults suit the generic webhook. */
export interface HintFields {
  /** Where the address is configured; default `` `url` ``. */
  address?: string
  /** Where the credentials are configured; default `` `url`, `headers` or `secret` ``. */
  credentials?: string
}

const snippetBytes = 2_048
const snippetChars = 200

/**
 * POSTs a JSON body and maps the response or error to a delivery outcome; never throws.
 * Reasons name only the host, because webhook URLs often carry a token in the path.
 */
export async function postJson(options: PostJsonOptions): Promise<DeliveryOutcome> {
  return withoutSecrets(await attemptPost(options), options.secrets ?? [])
}

async function attemptPost(options: PostJsonOptions): Promise<DeliveryOutcome> {
  const host = hostOf(options.url)
  const what = `${options.channel}: ${host}`
  const timeout = AbortSignal.timeout(options.timeoutMs)
  // Every HTTP channel posts through here, so the SSRF guard covers them all.
  const dispatcher = outboundDispatcher(outboundGuard('outbound'))
  try {
    const response = await request(options.url, {
      ...(dispatcher ? { dispatcher } : {}),
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...options.headers },
      body: options.body,
      signal: AbortSignal.any([options.signal, timeout]),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    })
    const success = response.statusCode >= 200 && response.statusCode < 300
    if (options.interpret !== undefined && (!success || options.interpretSuccess === true)) {
      const body = await readStart(response.body)
      const answer = {
        what,
        status: response.statusCode,
        headers: response.headers,
        body,
        now: options.now,
      }
      const outcome = options.interpret(answer)
      if (outcome !== undefined) return outcome
      if (success)
        return { kind: 'delivered', detail: `${host} answered HTTP ${response.statusCode}` }
      return outcomeForResponse(
        what,
        response.statusCode,
        response.headers,
        truncate(body),
        options.now,
        options.fields,
      )
    }
    if (success) {
      // Draining lets undici reuse the connection; a failure here does not undo the delivery.
      await response.body.dump().catch(() => undefined)
      return { kind: 'delivered', detail: `${host} answered HTTP ${response.statusCode}` }
    }
    const snippet = truncate(await readStart(response.body))
    return outcomeForResponse(
      what,
      response.statusCode,
      response.headers,
      snippet,
      options.now,
      options.fields,
    )
  } catch (error) {
    return outcomeForError(what, error, {
      cancelled: options.signal.aborted,
      timedOut: timeout.aborted,
      timeoutMs: options.timeoutMs,
    })
  }
}

/**
 * Maps a non-2xx HTTP answer to an outcome: 408, 425, 429 and 5xx are retried (honouring
 * `Retry-After`), any other status fails with the status and a snippet of the body.
 */
export function outcomeForResponse(
  what: string,
  status: number,
  headers: ResponseHeaders,
  snippet: string,
  now: number,
  fields: HintFields = {},
): DeliveryOutcome {
  const said = snippet === '' ? '' : `: ${snippet}`
  if (status >= 200 && status < 300)
    return { kind: 'delivered', detail: `${what} answered HTTP ${status}` }
  // 408 and 425 are 4xx but say "try again", unlike a rejected payload.
  if (status >= 500 || status === 429 || status === 408 || status === 425) {
    const afterMs = parseRetryAfter(headerValue(headers, 'retry-after'), now)
    return {
      kind: 'retry',
      reason: `${what} answered HTTP ${status}${said}`,
      ...(afterMs === undefined ? {} : { afterMs }),
    }
  }
  if (status >= 300 && status < 400) {
    const location = headerValue(headers, 'location')
    const where = location === undefined ? '' : ` to ${redirectTarget(location)}`
    return {
      kind: 'failed',
      reason: `${what} answered HTTP ${status} (redirect${where}); set ${fields.address ?? '`url`'} to the final address, Keel does not follow redirects for notifications`,
    }
  }
  return {
    kind: 'failed',
    reason: `${what} answered HTTP ${status}${said}; ${hintFor(status, fields)}`,
  }
}

/** The delay a `Retry-After` header asks for, in ms from `now`; undefined when absent or malformed. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // RFC 9110 §10.2.3: otherwise an HTTP-date. Date.parse reads IMF-fixdate, the only form sent today.
  if (!/^[A-Za-z]{3}, /.test(text)) return undefined
  const at = Date.parse(text)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

/** Maps an error thrown while sending to an outcome: everything is retried except a request undici refused to build. */
export function outcomeForError(
  what: string,
  error: unknown,
  state: { cancelled: boolean; timedOut: boolean; timeoutMs: number },
): DeliveryOutcome {
  if (state.cancelled) {
    return { kind: 'retry', reason: `${what}: the attempt was cancelled before an answer came` }
  }
  if (state.timedOut) {
    return { kind: 'retry', reason: `${what}: no answer within ${state.timeoutMs}ms` }
  }
  const refused = findPrivateTargetError(error)
  // Sending again reaches the same address; only a config change helps.
  if (refused) return { kind: 'failed', reason: `${what}: ${refused.message}` }
  const code = errorCode(error)
  const message = error instanceof Error ? error.message : String(error)
  if (code === 'UND_ERR_INVALID_ARG') {
    return {
      kind: 'failed',
      reason: `${what}: the request is invalid (${message}); check \`url\` and \`headers\``,
    }
  }
  const detail = code === undefined || message.includes(code) ? message : `${code}: ${message}`
  return { kind: 'retry', reason: `${what}: could not deliver (${detail})` }
}

/** A copy of an outcome with each secret (and its URL-encoded form) replaced by `<redacted>`. */
export function withoutSecrets(
  outcome: DeliveryOutcome,
  secrets: readonly string[],
): DeliveryOutcome {
  const forms = secrets
    .flatMap((secret) => [secret, encodeURIComponent(secret)])
    .filter((form) => form.length > 0)
  if (forms.length === 0) return outcome
  const scrub = (text: string) =>
    forms.reduce((result, form) => result.split(form).join('<redacted>'), text)
  if (outcome.kind === 'delivered') {
    return outcome.detail === undefined ? outcome : { ...outcome, detail: scrub(outcome.detail) }
  }
  return { ...outcome, reason: scrub(outcome.reason) }
}

async function readStart(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body) {
      chunks.push(chunk)
      size += chunk.length
      if (size >= snippetBytes) break
    }
  } catch {
    // A body cut off mid-way still leaves the status to report.
  } finally {
    body.destroy()
  }
  return Buffer.concat(chunks).subarray(0, snippetBytes).toString('utf8')
}

/**
 * The origin a redirect points to, with any path elided: webhook URLs carry their token in the
 * path, and an http-to-https redirect repeats it.
 */
function redirectTarget(location: string): string {
  try {
    const target = new URL(location)
    const bare = target.pathname === '/' && target.search === ''
    return `${target.origin}/${bare ? '' : '…'}`
  } catch {
    return 'another path'
  }
}

function truncate(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  const chars = Array.from(flat)
  return chars.length <= snippetChars ? flat : `${chars.slice(0, snippetChars - 1).join('')}…`
}

function hintFor(status: number, fields: HintFields): string {
  if (status === 401 || status === 403)
    return `check the credentials in ${fields.credentials ?? '`url`, `headers` or `secret`'}`
  if (status === 404 || status === 410)
    return `check ${fields.address ?? '`url`'}; the receiver does not know it`
  if (status === 413) return 'the receiver refuses payloads this large'
  return 'the receiver rejected the payload, and sending it again will not help'
}

function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') return code
  const cause = (error as { cause?: unknown }).cause
  return cause === undefined ? undefined : errorCode(cause)
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'an invalid URL'
  }
}
