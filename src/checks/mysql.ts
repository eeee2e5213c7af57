import type mysql from 'mysql2/promise'
import { z } from 'zod'
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

const defaults = { host: '127.0.0.1', port: 3306, user: 'root' }

/** The fields of a `mysql` monitor (MySQL and MariaDB). */
export const mysqlConfigSchema = z.object({
  ...databaseConnectionShape(['mysql', 'mariadb']),
  /** Run after connecting; `[BODY]` is the first column of the first row. */
  query: z.string().min(1).default('SELECT 1'),
})

function mysqlHint(code: string | undefined): string {
  if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_NOT_SUPPORTED_AUTH_MODE')
    return '; check user and password'
  if (code === 'ER_BAD_DB_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') return '; check database'
  return ''
}

/** Connects to MySQL or MariaDB, runs one query and closes the connection, whatever happens. */
export const mysqlProbe = defineProbe({
  type: 'mysql',
  description: 'MySQL / MariaDB: connect, run a query, compare its first value',
  configSchema: mysqlConfigSchema,
  secretFields: ['password', 'url'],
  placeholders: ['[CONNECTED]', '[BODY]', '[RESPONSE_TIME]'],
  validate: (config) => validateDatabaseConnection(config),
  expectations: (config) => [
    { text: 'accepts the connection and login', otherwise: 'down' },
    { text: `query ${JSON.stringify(config.query)} succeeds`, otherwise: 'down' },
  ],
  target: (config) => `mysql://${databaseWhere(config, defaults)}`,
  async run(config, context) {
    const deadline = probeDeadline(context)
    const where = `mysql at ${databaseWhere(config, defaults)}`
    const ssl =
      config.tls === 'disable' ? {} : { ssl: { rejectUnauthorized: config.tls === 'verify' } }
    // Loaded on first use: most installs have no MySQL monitor, and the CLI starts faster.
    const { createConnection } = (await import('mysql2/promise')).default
    const guard = outboundGuard('monitors')
    const pending = createConnection({
      // mysql2 takes a connected stream from a factory; the guarded one checks host and peer.
      ...(guard
        ? {
            stream: (options: { config: { host?: string; port?: number } }) =>
              guardedSocket(guard).connect(
                options.config.port ?? defaults.port,
                options.config.host ?? defaults.host,
              ),
          }
        : {}),
      ...(config.url !== undefined
        ? { uri: config.url.replace(/^mariadb:/, 'mysql:') }
        : {
            host: config.host ?? defaults.host,
            port: config.port ?? defaults.port,
            user: config.user ?? defaults.user,
            ...(config.password !== undefined ? { password: config.password } : {}),
            ...(config.database !== undefined ? { database: config.database } : {}),
          }),
      ...ssl,
      connectTimeout: context.timeoutMs + 1_000,
    })
    let connection: mysql.Connection
    try {
      connection = await untilAborted(pending, deadline.signal)
    } catch (error) {
      // A connection that completes after the deadline must still be closed.
      pending.then(
        (late) => late.destroy(),
        () => undefined,
      )
      const latencyMs = deadline.elapsedMs()
      const failure = deadline.signal.aborted
        ? `${deadline.abortMessage()} connecting to ${where}`
        : `${describeNetworkError(error, where)}${mysqlHint(errorCode(error))}`
      return concludeCheck({
        context,
        observed: { connected: false, responseTimeMs: latencyMs },
        latencyMs,
        summary: failure,
        failure,
      })
    }
    // A connection that breaks later emits 'error'; without a listener it would crash Keel.
    connection.on('error', () => undefined)
    let body: string | undefined
    const problems: string[] = []
    try {
      const [rows] = await untilAborted(
        connection.query({
          sql: config.query,
          rowsAsArray: true,
          timeout: context.timeoutMs + 1_000,
        }),
        deadline.signal,
      )
      const first = Array.isArray(rows) ? (rows[0] as unknown) : undefined
      if (Array.isArray(first) && first.length > 0) body = valueText(first[0])
    } catch (error) {
      problems.push(
        deadline.signal.aborted
          ? `query ${deadline.abortMessage()}`
          : `query failed: ${errorMessage(error)}`,
      )
    }
    const latencyMs = deadline.elapsedMs()
    if (problems.length > 0) {
      // A query still running would keep the server busy; dropping the connection kills it.
      connection.destroy()
    } else {
      await settleWithin(connection.end(), 1_000)
      connection.destroy()
    }
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
  },
})
