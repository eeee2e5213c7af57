import { z } from 'zod'
import { channelSpecSchema, type ChannelSpec } from '../channels/index.js'
import { monitorSpecSchema, type MonitorSpec } from '../checks/registry.js'
import { alertingConfigSchema } from '../core/alerts/index.js'
import { durationField, monitorIdSchema } from '../core/checks/index.js'
import { oncallConfigShape, oncallReferenceIssues } from '../core/escalation/index.js'
import { authConfigSchema } from './auth-schema.js'
import { catalogSectionSchema } from './catalog-section.js'
import { incidentsSectionSchema } from './incidents-section.js'
import { statusPageConfigSchema, statusPageReferenceIssues } from '../core/statuspage/index.js'
import { trustProxySchema } from './trust-proxy.js'
import { formatDuration } from '../core/time.js'

const listenPattern = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/

/** Splits a `host:port` listen address (`127.0.0.1:8080`, `[::]:8080`), or undefined if malformed. */
export function parseListenAddress(listen: string): { host: string; port: number } | undefined {
  const match = listenPattern.exec(listen)
  if (!match) return undefined
  const port = Number(match[3])
  if (port > 65_535) return undefined
  return { host: (match[1] ?? match[2]) as string, port }
}

/** Channel ids follow the same slug rules as monitor ids, since both appear in URLs and labels. */
export const channelIdSchema = monitorIdSchema

const serverSchema = z
  .object({
    listen: z
      .string()
      .refine((value) => parseListenAddress(value) !== undefined, {
        error: (issue) =>
          `must be host:port, such as 127.0.0.1:8080 or [::]:8080, got ${JSON.stringify(issue.input)}`,
      })
      .default('127.0.0.1:8080')
      .describe('Address the HTTP server listens on, as host:port.'),
    publicUrl: z
      .url({
        protocol: /^https?$/,
        message: 'must be an http(s) URL such as https://keel.example.org',
      })
      // Links are built as `${publicUrl}/incidents/42`, so a trailing slash would double up.
      .transform((url) => url.replace(/\/+$/, ''))
      .optional()
      .describe('URL operators reach Keel at; used for links in notifications.'),
    shutdownTimeout: durationField('shutdownTimeout', { min: 0, max: 600_000 })
      .prefault('10s')
      .describe(
        'On SIGTERM, how long to wait for checks and deliveries in flight before exiting anyway.',
      ),
    trustProxy: trustProxySchema,
  })
  .strict()

const checksSettingsSchema = z
  .object({
    refusePrivateTargets: z
      .boolean()
      .default(false)
      .describe(
        'Refuse monitor targets (every type that connects) that are or resolve to loopback, private, link-local, CGNAT, multicast or unspecified addresses (SSRF guard for shared installs); channels and runbook HTTP steps follow it unless `outbound.refusePrivateTargets` is set.',
      ),
    commandDirs: z
      .array(
        z.string().refine((dir) => dir.startsWith('/'), {
          message: 'must be an absolute directory such as /usr/lib/nagios/plugins',
        }),
      )
      .default([])
      .describe(
        'Directories whose programs monitors created through the API may run (command monitors); empty: only keel.yaml may declare monitors that run a program.',
      ),
  })
  .strict()

const sqliteStoreSchema = z
  .object({
    driver: z.literal('sqlite'),
    path: z
      .string()
      .min(1)
      .default('keel.db')
      .describe("Database file, relative to the config file's directory; `:memory:` for tests."),
  })
  .strict()

const postgresStoreSchema = z
  .object({
    driver: z.literal('postgres'),
    url: z
      .string()
      .regex(/^postgres(?:ql)?:\/\//, 'must be a postgres:// or postgresql:// connection URL')
      .describe('Connection URL (secret); write it as ${DATABASE_URL} to keep it out of the file.'),
    poolSize: z.number().int().min(1).max(1000).optional(),
  })
  .strict()

const retentionSchema = z
  .object({
    raw: durationField('raw', { min: 60_000 }).prefault('1h').describe('Keep raw check results.'),
    minute: durationField('minute', { min: 60_000 }).prefault('2h'),
    hour: durationField('hour', { min: 3_600_000 }).prefault('90d'),
    day: durationField('day', { min: 86_400_000 }).prefault('730d'),
  })
  .strict()

const schedulerSchema = z
  .object({
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(512)
      .describe('Checks that may run at the same time.'),
    jitter: z.boolean().default(true).describe('Spread first runs over the interval.'),
  })
  .strict()

const escalationSettingsSchema = z
  .object({
    pollInterval: durationField('pollInterval', { min: 100, max: 60_000 })
      .prefault('5s')
      .describe(
        'How often each node looks for due escalation steps it was not told about (those queued by other nodes).',
      ),
    ackLinkExpiry: durationField('ackLinkExpiry', { min: 60_000, max: 30 * 86_400_000 })
      .prefault('24h')
      .describe('How long the acknowledge and resolve links in a page work.'),
  })
  .strict()

const defaultsSchema = z
  .object({
    channels: z
      .array(channelIdSchema)
      .default([])
      .describe('Channels every monitor notifies unless it lists its own `channels`.'),
  })
  .strict()

type UnknownRecord = Record<string, unknown>

function isRecord(value: unknown): value is UnknownRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function unknownChannelMessage(id: unknown, defined: readonly string[]): string {
  const known =
    defined.length === 0
      ? 'no channels are defined under `channels`'
      : `defined channels: ${defined.join(', ')}`
  return `unknown channel \`${String(id)}\`; ${known}`
}

/**
 * The whole keel.yaml, the single source of truth for its types, defaults and JSON Schema.
 * Channel references are checked even when other parts are invalid, so one run shows every issue.
 */
export const keelConfigSchema = z
  .object({
    server: serverSchema.prefault({}),
    store: z
      .discriminatedUnion('driver', [sqliteStoreSchema, postgresStoreSchema])
      .default({ driver: 'sqlite', path: 'keel.db' }),
    retention: retentionSchema
      .prefault({})
      .describe('How long each resolution of results is kept.'),
    scheduler: schedulerSchema.prefault({}),
    checks: checksSettingsSchema.prefault({}).describe('Settings every monitor of a type shares.'),
    outbound: z
      .object({
        refusePrivateTargets: z
          .boolean()
          .optional()
          .describe(
            'Refuse notification channels (webhook, chat, email relay) and runbook HTTP steps whose target is or resolves to a non-public address; follows `checks.refusePrivateTargets` when unset.',
          ),
      })
      .strict()
      .prefault({})
      .describe(
        'Connections Keel makes that are not monitor checks: notifications, runbook HTTP steps.',
      ),
    defaults: defaultsSchema.prefault({}),
    channels: z
      .record(channelIdSchema, channelSpecSchema)
      .default({})
      .describe('Notification channels, keyed by id.'),
    monitors: z
      .record(monitorIdSchema, monitorSpecSchema)
      .default({})
      .describe('Monitors, keyed by id.'),
    ...oncallConfigShape,
    escalation: escalationSettingsSchema
      .prefault({})
      .describe('How the escalation engine runs; policies are under `escalationPolicies`.'),
    statusPage: statusPageConfigSchema
      .optional()
      .describe('The public status page at /status: title, logo and the components it shows.'),
    incidents: incidentsSectionSchema
      .prefault({})
      .describe('How incidents opened from alerts behave: auto-resolve, acknowledgement timeout.'),
    alerting: alertingConfigSchema
      .prefault({})
      .describe(
        'Noise control: routing tree and receivers, inhibition, time intervals, maintenance.',
      ),
    catalog: catalogSectionSchema
      .prefault({})
      .describe('The service catalog: entities and their dependsOn graph, and Backstage imports.'),
    runbooks: z
      .object({
        paths: z
          .array(z.string().min(1))
          .default([])
          .describe(
            'Folders (or .md files) of runbooks, relative to the keel.yaml that names them (docs/runbooks.md).',
          ),
      })
      .strict()
      .prefault({})
      .describe('Runbooks: markdown procedures Keel shows and runs.'),
    auth: authConfigSchema
      .prefault({})
      .describe('Login options: OpenID Connect (see docs/security.md).'),
  })
  .strict()
  .superRefine(
    (config, ctx) => {
      // Runs on partly invalid input too (`when` below), so every access is defensive.
      const value: unknown = config
      if (!isRecord(value)) return
      const defined = isRecord(value.channels) ? Object.keys(value.channels).sort() : []
      const check = (list: unknown, path: (string | number)[]) => {
        if (!Array.isArray(list)) return
        list.forEach((id, index) => {
          if (typeof id === 'string' && !defined.includes(id)) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, index],
              message: unknownChannelMessage(id, defined),
            })
          }
        })
      }
      if (isRecord(value.defaults)) check(value.defaults.channels, ['defaults', 'channels'])
      if (isRecord(value.monitors)) {
        for (const [id, monitor] of Object.entries(value.monitors)) {
          if (isRecord(monitor)) check(monitor.channels, ['monitors', id, 'channels'])
        }
      }
      for (const issue of oncallReferenceIssues(value, { channels: defined })) {
        ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message })
      }
      const monitorIds = isRecord(value.monitors) ? Object.keys(value.monitors) : []
      for (const issue of statusPageReferenceIssues(value.statusPage, monitorIds)) {
        ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message })
      }
      if (isRecord(value.alerting)) {
        check(value.alerting.noticeChannels, ['alerting', 'noticeChannels'])
        const policies = isRecord(value.escalationPolicies)
          ? Object.keys(value.escalationPolicies).sort()
          : []
        const receivers = isRecord(value.alerting.receivers) ? value.alerting.receivers : {}
        for (const [id, receiver] of Object.entries(receivers)) {
          if (!isRecord(receiver)) continue
          check(receiver.channels, ['alerting', 'receivers', id, 'channels'])
          const policy = receiver.escalationPolicy
          if (typeof policy === 'string' && !policies.includes(policy)) {
            ctx.addIssue({
              code: 'custom',
              path: ['alerting', 'receivers', id, 'escalationPolicy'],
              message: `escalation policy ${JSON.stringify(policy)} is not defined under escalationPolicies; ${policies.length > 0 ? `policies: ${policies.join(', ')}` : 'add it there'}`,
            })
          }
        }
      }
    },
    { when: () => true },
  )
  .meta({
    title: 'keel.yaml',
    description:
      'Configuration of Keel: server, store, retention, channels, monitors, and on-call (users, teams, schedules, escalation policies, routes).',
  })

/** A parsed keel.yaml, with defaults applied and durations in milliseconds. */
export type KeelConfig = z.output<typeof keelConfigSchema>

/** The keel.yaml input as written by hand, before defaults and transforms. */
export type KeelConfigInput = z.input<typeof keelConfigSchema>

export type { ChannelSpec, MonitorSpec }

/** The channels a monitor notifies: its own list when it has one (even empty), else the defaults. */
export function effectiveChannels(config: KeelConfig, monitor: MonitorSpec): string[] {
  return monitor.channels ?? config.defaults.channels
}

interface ZodInternals {
  _zod: { def: { type: string; innerType?: unknown; defaultValue?: unknown } }
  safeParse(value: unknown): { success: boolean; data?: unknown }
}

/**
 * Zod leaves out a `.default()` that sits on a transform in input mode, because the default is
 * the parsed value (an interval defaults to 60000 ms, but 60000 in the file means seconds). This
 * puts back an input that parses to the same value (`1m`), so editors can still show it.
 */
function restoreInputDefault(zodSchema: unknown, json: Record<string, unknown>): void {
  const def = (zodSchema as ZodInternals)._zod.def
  if (def.type !== 'default' || 'default' in json) return
  const inner = def.innerType as ZodInternals
  const value = def.defaultValue
  const candidates = typeof value === 'number' ? [value, formatDuration(value)] : [value]
  for (const candidate of candidates) {
    const parsed = inner.safeParse(candidate)
    if (parsed.success && JSON.stringify(parsed.data) === JSON.stringify(value)) {
      json.default = candidate
      return
    }
  }
}

/** The JSON Schema of keel.yaml as written by hand, for editors (yaml-language-server) and docs. */
export function keelConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(keelConfigSchema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override: (ctx) =>
      restoreInputDefault(ctx.zodSchema, ctx.jsonSchema as Record<string, unknown>),
  }) as Record<string, unknown>
}
