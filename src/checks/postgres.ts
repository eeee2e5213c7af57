import pg from 'pg'
import { z } from 'zod'
import { formatDuration } from '../core/time.js'
import { concludeCheck } from './conclude-check.js'
import {
  databaseConnectionShape,
  databaseWhere,
  validateDatabaseConnection,
} from './database-connection.js'
import { describeNetworkError, errorCode, errorMessage } from './network-error.js'
import { guardedSocket, outboundGuard } from './outbound-guard.js'
import { defineProbe } from './probe.js'
import { probeDeadline, settleWithin, untilAborted } from './probe-deadline.js'
import { quotePreview, valueText } from './value-text.js'

const defaults = { host: '127.0.0.1', port: 5432, user: 'postgres' }

/** The fields of a `postgres` monitor. */
export const postgresConfigSchema = z.object({
  ...databaseConnectionShape(['postgres', 'postgresql']),
  /** Run after connecting; `[BODY]` is the first column of the first row. */
  query: z.string().min(1).default('SELECT 1'),
})

function postgresHint(code: string | undefined): string {
  // SQLSTATE 28P01 invalid_password, 28000 invalid_authorization_specification, 3D000 no such database.
  if (code === '28P01' || code === '28000') return '; check user and password'
  if (code === '3D000') return '; check database'
  return ''
}

/** Connects to PostgreSQL, runs one query and closes the connection, whatever happens. */
export const postgresProbe = defineProbe({
  type: 'postgres',
  description: 'PostgreSQL: connect, run a query, compare its first value',
  configSchema: postgresConfigSchema,
  secretFields: ['password', 'url'],
  placeholders: ['[CONNECTED]', '[BODY]', '[RESPONSE_TIME]'],
  validate: (config) => validateDatabaseConnection(config),
  expectations: (config) => [
    { text: 'accepts the connection and login', otherwise: 'down' },
    { text: `query ${JSON.stringify(config.query)} succeeds`, otherwise: 'down' },
  ],
  target: (config) => `postgres://${databaseWhere(config, defaults)}`,
  async run(config, context) {
    const deadline = probeDeadline(context)
    const where = `postgres at ${databaseWhere(config, defaults)}`
    const guard = outboundGuard('monitors')
    const client = new pg.Client({
      // pg connects the socket it is given with (port, host); the guarded one checks both.
      ...(guard ? { stream: () => guardedSocket(guard) } : {}),
      ...(config.url !== undefined
        ? { connectionString: config.url }
        : {
            host: config.host ?? defaults.host,
            port: config.port ?? defaults.port,
            user: config.user ?? defaults.user,
            ...(config.password !== undefined ? { password: config.password } : {}),
            ...(config.database !== undefined ? { database: config.database } : {}),
          }),
      ...(config.tls !== 'disable' ? { ssl: { rejectUnauthorized: config.tls === 'verify' } } : {}),
      // Backups for the deadline's signal, which normally ends the run first with a clearer message.
      connectionTimeoutMillis: context.timeoutMs + 1_000,
      query_timeout: context.timeoutMs + 1_000,
      // Closing the socket does not stop a running query; the server must cancel it itself.
      statement_timeout: context.timeoutMs + 500,
      application_name: 'keel-monitor',
    })
    // A connection that dies between queries emits 'error'; without a listener it would crash Keel.
    client.on('error', () => undefined)
    try {
      try {
        await untilAborted(client.connect(), deadline.signal)
      } catch (error) {
        const latencyMs = deadline.elapsedMs()
        const failure = deadline.signal.aborted
          ? `${deadline.abortMessage()} connecting to ${where}`
          : `${describeNetworkError(error, where)}${postgresHint(errorCode(error))}`
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
        const result = await untilAborted(
          client.query<unknown[]>({ text: config.query, rowMode: 'array' }),
          deadline.signal,
        )
        const first = result.rows[0]
        if (first !== undefined && first.length > 0) body = valueText(first[0])
      } catch (error) {
        // 57014 is query_canceled: the server-side statement_timeout fired before our own timer.
        problems.push(
          deadline.signal.aborted
            ? `query ${deadline.abortMessage()}`
            : errorCode(error) === '57014'
              ? `query timed out after ${formatDuration(context.timeoutMs)}`
              : `query failed: ${errorMessage(error)}`,
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
          problems.length > 0
            ? `connected to ${where}`
            : `${where}: ${config.query} returned ${body === undefined ? 'no rows' : quotePreview(body)}`,
        problems,
      })
    } finally {
      await settleWithin(client.end(), 1_000)
    }
  },
})
