import { request } from 'undici'
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
}

const snippetBytes = 2_048
const snippetChars = 200

/**
 * POSTs a JSON body and maps the response or error to a delivery outcome; never throws.
 * Reasons name only the host, because webhook URLs often carry a token in the path.
 */
export async function postJson(options: PostJsonOptions): Promise<DeliveryOutcome> {
  const host = hostOf(options.url)
  const timeout = AbortSignal.timeout(options.timeoutMs)
  try {
    const response = await request(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...options.headers },
      body: options.body,
      signal: AbortSignal.any([options.signal, timeout]),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    })
    if (response.statusCode >= 200 && response.statusCode < 300) {
      // Draining lets undici reuse the connection; a failure here does not undo the delivery.
      await response.body.dump().catch(() => undefined)
      return { kind: 'delivered', detail: `${host} answered HTTP ${response.statusCode}` }
    }
    const snippet = await readSnippet(response.body)
    return outcomeForResponse(
      `${options.channel}: ${host}`,
      response.statusCode,
      response.headers,
      snippet,
      options.now,
    )
  } catch (error) {
    return outcomeForError(`${options.channel}: ${host}`, error, {
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
    const where = location === undefined ? '' : ` to ${truncate(location)}`
    return {
      kind: 'failed',
      reason: `${what} answered HTTP ${status} (redirect${where}); set \`url\` to the final address, Keel does not follow redirects for notifications`,
    }
  }
  return { kind: 'failed', reason: `${what} answered HTTP ${status}${said}; ${hintFor(status)}` }
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

async function readSnippet(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
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
  return truncate(Buffer.concat(chunks).toString('utf8'))
}

function truncate(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  const chars = Array.from(flat)
  return chars.length <= snippetChars ? flat : `${chars.slice(0, snippetChars - 1).join('')}…`
}

function hintFor(status: number): string {
  if (status === 401 || status === 403)
    return 'check the credentials in `url`, `headers` or `secret`'
  if (status === 404 || status === 410) return 'check `url`; the receiver does not know it'
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
