import { z } from 'zod'
import type { ProbeConfigIssue } from './probe.js'
import { hostField, portField } from './tcp.js'

/** How to reach a database server: a URL, or its parts; the parts have server-specific defaults. */
export interface DatabaseConnection {
  url?: string | undefined
  host?: string | undefined
  port?: number | undefined
  user?: string | undefined
  password?: string | undefined
  database?: string | undefined
  tls: 'disable' | 'require' | 'verify'
}

/** The connection fields shared by the `postgres` and `mysql` monitors (`url` or the parts). */
export function databaseConnectionShape(schemes: readonly string[]) {
  const pattern = new RegExp(`^(${schemes.join('|')})://`)
  return {
    url: z
      .string()
      .regex(pattern, `url must start with ${schemes.map((scheme) => `${scheme}://`).join(' or ')}`)
      .refine((value) => URL.canParse(value), 'url is not a valid URL')
      .optional(),
    host: hostField.optional(),
    port: portField.optional(),
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    database: z.string().min(1).optional(),
    /** `require` encrypts without checking the certificate; `verify` checks it too. */
    tls: z.enum(['disable', 'require', 'verify']).default('disable'),
  }
}

/** Rejects a `url` given together with the parts it already contains. */
export function validateDatabaseConnection(config: DatabaseConnection): ProbeConfigIssue[] {
  if (config.url === undefined) return []
  const parts = (['host', 'port', 'user', 'password', 'database'] as const).filter(
    (field) => config[field] !== undefined,
  )
  return parts.map((field) => ({
    path: [field],
    message: `${field} cannot be combined with url; put it in the url or drop the url`,
  }))
}

/** Where a connection goes, for messages: `user@host:port/database`, never the password. */
export function databaseWhere(
  config: DatabaseConnection,
  defaults: { host: string; port: number; user: string },
): string {
  if (config.url !== undefined) {
    const url = new URL(config.url)
    const user = url.username ? `${decodeURIComponent(url.username)}@` : ''
    return `${user}${url.hostname || defaults.host}:${url.port || defaults.port}${url.pathname === '/' ? '' : url.pathname}`
  }
  const database = config.database ? `/${config.database}` : ''
  return `${config.user ?? defaults.user}@${config.host ?? defaults.host}:${config.port ?? defaults.port}${database}`
}
