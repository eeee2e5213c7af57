import { z } from 'zod'
import { concludeCheck } from './conclude-check.js'
import { describeNetworkError, errorMessage } from './network-error.js'
import { outboundGuard, refuseLiteral } from './outbound-guard.js'
import { defineProbe, type ProbeConfigIssue } from './probe.js'
import { probeDeadline, settleWithin, untilAborted } from './probe-deadline.js'
import { hostField, portField } from './tcp.js'
import { quotePreview, valueText } from './value-text.js'

/** The fields of a `redis` monitor. */
export const redisConfigSchema = z.object({
  url: z
    .string()
    .regex(/^rediss?:\/\//, 'url must start with redis:// or rediss://')
    .refine((value) => URL.canParse(value), 'url is not a valid URL')
    .optional(),
  host: hostField.optional(),
  port: portField.optional(),
  /** An ACL user (Redis 6+); only `password` for the default user. */
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  database: z.number().int().min(0).max(15).optional(),
  tls: z.enum(['disable', 'require', 'verify']).default('disable'),
  /** The command to send: `PING`, `INFO replication`, or an array for arguments with spaces. */
  command: z.union([z.string().trim().min(1), z.array(z.string()).min(1)]).default('PING'),
})

type RedisConfig = z.output<typeof redisConfigSchema>

function commandArgs(command: RedisConfig['command']): string[] {
  return Array.isArray(command) ? command : command.split(/\s+/)
}

function where(config: RedisConfig): string {
  if (config.url !== undefined) {
    const url = new URL(config.url)
    return `${url.hostname}:${url.port || 6379}${url.pathname.length > 1 ? url.pathname : ''}`
  }
  const database = config.database ? `/${config.database}` : ''
  return `${config.host ?? '127.0.0.1'}:${config.port ?? 6379}${database}`
}

function redisHint(message: string): string {
  if (/^(WRONGPASS|NOAUTH)|\bAUTH\b/.test(message)) return '; check username and password'
  return ''
}

/** Connects to Redis, sends one command and closes the connection, whatever happens. */
export const redisProbe = defineProbe({
  type: 'redis',
  description: 'Redis: connect, send a command (PING by default), compare the reply',
  configSchema: redisConfigSchema,
  secretFields: ['password', 'url'],
  placeholders: ['[CONNECTED]', '[BODY]', '[RESPONSE_TIME]'],
  validate(config) {
    if (config.url === undefined) return []
    return (['host', 'port', 'username', 'password', 'database'] as const)
      .filter((field) => config[field] !== undefined)
      .map((field): ProbeConfigIssue => ({
        path: [field],
        message: `${field} cannot be combined with url; put it in the url or drop the url`,
      }))
  },
  expectations: (config) => [
    { text: 'accepts the connection', otherwise: 'down' },
    { text: `${commandArgs(config.command)[0] ?? 'PING'} succeeds`, otherwise: 'down' },
  ],
  target: (config) => `redis://${where(config)} ${commandArgs(config.command)[0] ?? ''}`.trimEnd(),
  async run(config, context) {
    const deadline = probeDeadline(context)
    const target = `redis at ${where(config)}`
    const args = commandArgs(config.command)
    // The client connects by itself: a literal host is refused here, a name in its DNS lookup.
    const guard = outboundGuard('monitors')
    const host =
      config.url !== undefined
        ? new URL(config.url).hostname || '127.0.0.1'
        : (config.host ?? '127.0.0.1')
    const refused = guard ? refuseLiteral(host, guard) : undefined
    if (refused) {
      return concludeCheck({
        context,
        observed: { connected: false },
        latencyMs: 0,
        summary: refused.message,
        failure: refused.message,
      })
    }
    // Loaded on first use: most installs have no Redis monitor, and the CLI starts faster.
    const { createClient } = await import('redis')
    const client = createClient({
      ...(config.url !== undefined ? { url: config.url } : {}),
      socket: {
        ...(config.url === undefined
          ? { host: config.host ?? '127.0.0.1', port: config.port ?? 6379 }
          : {}),
        ...(config.tls !== 'disable'
          ? { tls: true, rejectUnauthorized: config.tls === 'verify' }
          : {}),
        ...(guard ? { lookup: guard.lookup } : {}),
        connectTimeout: context.timeoutMs + 1_000,
        // One attempt per run: the scheduler's retries and the monitor's state machine do the rest.
        reconnectStrategy: false,
      },
      ...(config.username !== undefined ? { username: config.username } : {}),
      ...(config.password !== undefined ? { password: config.password } : {}),
      ...(config.database !== undefined ? { database: config.database } : {}),
      disableOfflineQueue: true,
    })
    // The client reports socket errors as events as well as rejections; an unheard one would crash Keel.
    client.on('error', () => undefined)
    const close = () => {
      try {
        if (client.isOpen) client.destroy()
      } catch {
        // Already closed.
      }
    }
    try {
      try {
        await untilAborted(client.connect(), deadline.signal)
      } catch (error) {
        const latencyMs = deadline.elapsedMs()
        const failure = deadline.signal.aborted
          ? `${deadline.abortMessage()} connecting to ${target}`
          : `${describeNetworkError(error, target)}${redisHint(errorMessage(error))}`
        return concludeCheck({
          context,
          observed: { connected: false, responseTimeMs: latencyMs },
          latencyMs,
          summary: failure,
          failure,
        })
      }
      let body: string | undefined
      const problems: string[] = []
      try {
        body = valueText(await untilAborted(client.sendCommand(args), deadline.signal))
      } catch (error) {
        problems.push(
          deadline.signal.aborted
            ? `${args[0]} ${deadline.abortMessage()}`
            : `${args[0]} failed: ${errorMessage(error)}`,
        )
      }
      const latencyMs = deadline.elapsedMs()
      return concludeCheck({
        context,
        observed: {
          connected: true,
          responseTimeMs: latencyMs,
          ...(body !== undefined ? { body } : {}),
        },
        latencyMs,
        summary:
          body === undefined
            ? `connected to ${target}`
            : `${target}: ${args[0]} returned ${quotePreview(body)}`,
        problems,
      })
    } finally {
      if (client.isReady) await settleWithin(client.close(), 1_000)
      close()
    }
  },
})
