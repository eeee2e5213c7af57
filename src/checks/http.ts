import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { Agent, interceptors, request, type Dispatcher } from 'undici'
import { z } from 'zod'
import { durationField, evaluateConditions, type ConditionContext } from '../core/checks/index.js'
import { redactUserinfoPassword } from '../core/config/index.js'
import { formatDuration } from '../core/time.js'
import { concludeCheck } from './conclude-check.js'
import { describeNetworkError, errorMessage } from './network-error.js'
import { defineProbe, type ProbeExpectation } from './probe.js'
import { probeDeadline } from './probe-deadline.js'
import { guardedConnector, outboundGuard, type OutboundGuard } from './outbound-guard.js'
import { findPrivateTargetError } from './private-address.js'
import { roughDuration } from './rough-duration.js'

const maxBodyBytes = 1024 * 1024

const statusSpec = z.union([
  z.number().int().min(100).max(599),
  z
    .string()
    .regex(
      /^([1-5]\d\d(-[1-5]\d\d)?|[1-5]xx)$/,
      'expectedStatus entries are codes (200), ranges ("200-299") or classes ("2xx")',
    ),
])

/** The fields of an `http` monitor. */
export const httpConfigSchema = z.object({
  url: z.string().refine((value) => /^https?:\/\/[^/?#\s]+/i.test(value) && URL.canParse(value), {
    message: 'url must be an absolute http:// or https:// URL',
  }),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  basicAuth: z.object({ username: z.string(), password: z.string() }).strict().optional(),
  /** Text that must appear in the body (or must not, with `invertKeyword`). */
  keyword: z.string().min(1).optional(),
  invertKeyword: z.boolean().default(false),
  /** A path into the JSON body (`status`, `$.data.items[0].state`); see `expectedValue`. */
  jsonPath: z.string().min(1).optional(),
  /** The value at `jsonPath`; without it the path only has to exist. */
  expectedValue: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
  followRedirects: z.boolean().default(true),
  maxRedirects: z.number().int().min(1).max(10).default(10),
  tlsVerify: z.boolean().default(true),
  /**
   * Keep the connection open between checks when the server allows it (as browsers and most
   * monitors do): about a quarter of the CPU per check. Set false to open a fresh connection
   * every time, so every check also proves the server still accepts connections.
   */
  reuseConnections: z.boolean().default(true),
  /** Accepted statuses; 200-399 when neither this nor a `[STATUS]` condition is given. */
  expectedStatus: z.union([statusSpec, z.array(statusSpec).min(1)]).optional(),
  /** A response slower than this makes the monitor degraded instead of up. */
  degradedAfter: durationField('degradedAfter').optional(),
  /**
   * Refuse loopback, private, link-local, CGNAT, multicast and unspecified addresses, checked on
   * the resolved address of every connection (redirects too). `checks.refusePrivateTargets` in
   * keel.yaml turns this on for every monitor, and a monitor cannot turn it off.
   */
  refusePrivateTargets: z.boolean().optional(),
})

type HttpConfig = z.output<typeof httpConfigSchema>

function statusRanges(spec: HttpConfig['expectedStatus']): [number, number][] {
  const entries = spec === undefined ? ['200-399'] : Array.isArray(spec) ? spec : [spec]
  return entries.map((entry) => {
    if (typeof entry === 'number') return [entry, entry]
    if (entry.endsWith('xx')) {
      const hundred = Number(entry[0]) * 100
      return [hundred, hundred + 99]
    }
    const [low, high = low] = entry.split('-').map(Number) as [number, number?]
    return [low, high]
  })
}

function describeStatuses(spec: HttpConfig['expectedStatus']): string {
  const entries = spec === undefined ? ['200-399'] : Array.isArray(spec) ? spec : [spec]
  return entries.join(', ')
}

/** The `[BODY]…` condition that `jsonPath` and `expectedValue` stand for. */
export function jsonPathCondition(
  jsonPath: string,
  expectedValue: HttpConfig['expectedValue'],
): string {
  const trimmed = jsonPath
    .trim()
    .replace(/^\$/, '')
    .replace(/^\[BODY\]/, '')
  const path =
    trimmed === '' || trimmed.startsWith('.') || trimmed.startsWith('[') ? trimmed : `.${trimmed}`
  if (expectedValue === undefined) return `has([BODY]${path}) == true`
  const text = String(expectedValue)
  const quoted = text.includes('"') ? `'${text}'` : `"${text}"`
  return `[BODY]${path} == ${quoted}`
}

async function readBody(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    chunks.push(chunk)
    size += chunk.length
    // Evaluating more than the first MiB would let one monitor eat the scheduler's memory.
    if (size >= maxBodyBytes) {
      body.destroy()
      break
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBodyBytes).toString('utf8')
}

/** The URL as messages show it: a password in its userinfo never reaches results or alerts. */
function shownUrl(url: string): string {
  return redactUserinfoPassword(url, '<redacted>')
}

function origin(url: string): string {
  const parsed = new URL(url)
  return parsed.host
}

/** Requests a URL with undici and judges status, keyword, JSON value, conditions and latency. */
/** What the connector saw on the last new connection to an origin (address, certificate). */
interface ConnectionFacts {
  ip?: string
  certificateValidTo?: number
}

function guardOf(config: HttpConfig): OutboundGuard | undefined {
  return outboundGuard('monitors', config.refusePrivateTargets === true)
}

const sharedFacts = new Map<string, ConnectionFacts>()
const sharedDispatchers = new Map<string, Dispatcher>()
// A reload (or a test) that configures the guard anew gets new dispatchers for the new guard.
const sharedGuards = new Map<string, OutboundGuard | undefined>()

// Idle connections live long enough to be reused by a 20 s interval and no longer.
const keepAliveMs = 25_000

function observeSocket(socket: Socket | TLSSocket): ConnectionFacts {
  const validTo =
    'getPeerCertificate' in socket ? (socket as TLSSocket).getPeerCertificate().valid_to : undefined
  return {
    ...(socket.remoteAddress ? { ip: socket.remoteAddress } : {}),
    ...(validTo ? { certificateValidTo: Date.parse(validTo) } : {}),
  }
}

/**
 * The keep-alive dispatcher shared by every monitor with the same TLS and redirect settings.
 * Facts about each new connection are kept per origin, so a reused connection still reports the
 * peer address and certificate it was opened with.
 */
function sharedDispatcher(config: HttpConfig): Dispatcher {
  const guard = guardOf(config)
  const key = `${config.tlsVerify}|${config.followRedirects ? config.maxRedirects : 0}|${guard?.setting ?? ''}`
  let dispatcher = sharedDispatchers.get(key)
  if (!dispatcher || sharedGuards.get(key) !== guard) {
    const connector = guardedConnector(
      { rejectUnauthorized: config.tlsVerify, timeout: 30_000 },
      guard,
    )
    const agent = new Agent({
      keepAliveTimeout: keepAliveMs,
      keepAliveMaxTimeout: keepAliveMs,
      connect: (options, callback) =>
        connector(options, (error, socket) => {
          if (socket) {
            const port = options.port ? `:${options.port}` : ''
            sharedFacts.set(
              `${options.protocol}//${options.hostname}${port}`,
              observeSocket(socket),
            )
          }
          if (error) callback(error, null)
          else callback(null, socket as NonNullable<typeof socket>)
        }),
    })
    dispatcher = config.followRedirects
      ? agent.compose(interceptors.redirect({ maxRedirections: config.maxRedirects }))
      : agent
    sharedDispatchers.set(key, dispatcher)
    sharedGuards.set(key, guard)
  }
  return dispatcher
}

export const httpProbe = defineProbe({
  type: 'http',
  description: 'HTTP(S) request: status, keyword, JSON value, response time, certificate',
  configSchema: httpConfigSchema,
  secretFields: ['headers', 'basicAuth.password'],
  placeholders: [
    '[STATUS]',
    '[RESPONSE_TIME]',
    '[BODY]',
    '[CERTIFICATE_EXPIRATION]',
    '[CONNECTED]',
    '[IP]',
  ],
  expectations(config, conditions) {
    const expected: ProbeExpectation[] = []
    if (config.expectedStatus !== undefined || !conditions.some((c) => c.includes('[STATUS]'))) {
      expected.push({
        text: `status is ${describeStatuses(config.expectedStatus)}`,
        otherwise: 'down',
      })
    }
    if (config.keyword !== undefined) {
      const verb = config.invertKeyword ? 'does not contain' : 'contains'
      expected.push({ text: `body ${verb} ${JSON.stringify(config.keyword)}`, otherwise: 'down' })
    }
    if (config.jsonPath !== undefined) {
      expected.push({
        text: jsonPathCondition(config.jsonPath, config.expectedValue),
        otherwise: 'down',
      })
    }
    if (config.tlsVerify && /^https:/i.test(config.url)) {
      expected.push({ text: 'certificate is valid and trusted', otherwise: 'down' })
    }
    if (config.degradedAfter !== undefined) {
      expected.push({
        text: `response time at most ${formatDuration(config.degradedAfter)}`,
        otherwise: 'degraded',
      })
    }
    return expected
  },
  validate(config) {
    if (config.expectedValue !== undefined && config.jsonPath === undefined) {
      return [
        { path: ['expectedValue'], message: 'expectedValue needs a jsonPath to compare it with' },
      ]
    }
    if (config.jsonPath !== undefined) {
      const verdict = evaluateConditions(
        [jsonPathCondition(config.jsonPath, config.expectedValue)],
        {},
      )
      const invalid = verdict.failures.find((failure) => failure.startsWith('condition'))
      if (invalid) return [{ path: ['jsonPath'], message: `jsonPath is invalid: ${invalid}` }]
    }
    return []
  },
  target: (config) => `${config.method} ${shownUrl(config.url)}`,
  async run(config, context) {
    const deadline = probeDeadline(context)
    let ip: string | undefined
    let certificateExpirationMs: number | undefined
    let agent: Agent | undefined
    let dispatcher: Dispatcher
    if (config.reuseConnections) {
      dispatcher = sharedDispatcher(config)
    } else {
      const connector = guardedConnector(
        { rejectUnauthorized: config.tlsVerify, timeout: context.timeoutMs },
        guardOf(config),
      )
      agent = new Agent({
        connect: (options, callback) =>
          connector(options, (error, socket) => {
            if (socket) {
              const facts = observeSocket(socket)
              ip = facts.ip
              certificateExpirationMs =
                facts.certificateValidTo !== undefined
                  ? facts.certificateValidTo - Date.now()
                  : undefined
            }
            // undici's connector types the pair as a union the callback does not accept directly.
            if (error) callback(error, null)
            else callback(null, socket as NonNullable<typeof socket>)
          }),
        headersTimeout: context.timeoutMs,
        bodyTimeout: context.timeoutMs,
      })
      dispatcher = config.followRedirects
        ? agent.compose(interceptors.redirect({ maxRedirections: config.maxRedirects }))
        : agent
    }
    const headers: Record<string, string> = { 'user-agent': 'Keel-Monitor/0.1' }
    // Credentials in the URL's userinfo log in like curl's: sent as Basic auth (basicAuth wins),
    // never as part of the request line.
    const target = new URL(config.url)
    const userinfo = target.username !== '' || target.password !== ''
    const credentials =
      config.basicAuth ??
      (userinfo
        ? {
            username: decodeURIComponent(target.username),
            password: decodeURIComponent(target.password),
          }
        : undefined)
    if (credentials) {
      const { username, password } = credentials
      headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
    }
    target.username = ''
    target.password = ''
    Object.assign(headers, config.headers)
    try {
      const response = await request(userinfo ? target.toString() : config.url, {
        method: config.method,
        headers,
        ...(config.body !== undefined ? { body: config.body } : {}),
        dispatcher,
        signal: deadline.signal,
        headersTimeout: context.timeoutMs,
        bodyTimeout: context.timeoutMs,
      })
      if (config.reuseConnections) {
        const facts = sharedFacts.get(new URL(config.url).origin)
        ip = facts?.ip
        certificateExpirationMs =
          facts?.certificateValidTo !== undefined
            ? facts.certificateValidTo - Date.now()
            : undefined
      }
      const body = config.method === 'HEAD' ? '' : await readBody(response.body)
      if (config.method === 'HEAD') response.body.destroy()
      const latencyMs = deadline.elapsedMs()
      const status = response.statusCode
      const observed: ConditionContext = {
        status,
        responseTimeMs: latencyMs,
        body,
        connected: true,
        ...(ip !== undefined ? { ip } : {}),
        ...(certificateExpirationMs !== undefined ? { certificateExpirationMs } : {}),
      }
      const problems: string[] = []
      const statusByCondition = context.conditions.some((text) => text.includes('[STATUS]'))
      if (config.expectedStatus !== undefined || !statusByCondition) {
        const ok = statusRanges(config.expectedStatus).some(
          ([low, high]) => status >= low && status <= high,
        )
        if (!ok) problems.push(`expected status ${describeStatuses(config.expectedStatus)}`)
      }
      const location = response.headers.location
      if (config.followRedirects && status >= 300 && status < 400 && location !== undefined) {
        problems.push(`stopped after ${config.maxRedirects} redirects (next: ${String(location)})`)
      }
      if (config.keyword !== undefined) {
        const found = body.includes(config.keyword)
        if (found && config.invertKeyword) {
          problems.push(
            `keyword ${JSON.stringify(config.keyword)} is in the body, but invertKeyword is set`,
          )
        } else if (!found && !config.invertKeyword) {
          problems.push(`keyword ${JSON.stringify(config.keyword)} not found in the body`)
        }
      }
      if (config.jsonPath !== undefined) {
        const verdict = evaluateConditions(
          [jsonPathCondition(config.jsonPath, config.expectedValue)],
          observed,
        )
        problems.push(...verdict.failures)
      }
      const slow = config.degradedAfter !== undefined && latencyMs > config.degradedAfter
      return concludeCheck({
        context,
        observed,
        latencyMs,
        summary: `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd(),
        problems,
        ...(slow
          ? {
              degraded: `slow: ${roughDuration(latencyMs)} is over degradedAfter ${formatDuration(config.degradedAfter as number)}`,
            }
          : {}),
      })
    } catch (error) {
      const latencyMs = deadline.elapsedMs()
      const refused = findPrivateTargetError(error)
      const failure = refused
        ? refused.message
        : deadline.signal.aborted
          ? `${deadline.abortMessage()} waiting for ${config.method} ${shownUrl(config.url)}`
          : errorMessage(error).startsWith('Redirect loop')
            ? `redirect loop: ${shownUrl(config.url)} leads back to a URL it already visited`
            : describeNetworkError(error, origin(config.url))
      return concludeCheck({
        context,
        observed: { connected: false, responseTimeMs: latencyMs },
        latencyMs,
        summary: failure,
        failure,
      })
    } finally {
      // close() after a finished request ends the connection without building an error object;
      // destroy() is needed only when a request is still in flight (aborted or failed).
      if (agent && deadline.signal.aborted) await agent.destroy().catch(() => undefined)
      else if (agent) await agent.close().catch(() => undefined)
    }
  },
})
