import { Cron } from 'croner'
import { IANAZone } from 'luxon'
import { z } from 'zod'
import { durationField } from '../core/checks/index.js'
import { formatDuration } from '../core/time.js'
import { defineProbe, type ProbeConfigIssue } from './probe.js'

function cronProblem(pattern: string, timezone = 'UTC'): string | undefined {
  try {
    new Cron(pattern, { timezone, paused: true })
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/** The fields of a `heartbeat` monitor: a job pings Keel, and silence past the deadline is down. */
export const heartbeatConfigSchema = z.object({
  /** How often the job pings (`1h`); use either this or `schedule`. */
  period: durationField('period', { min: 1_000 }).optional(),
  /** A cron expression saying when the job runs (`0 2 * * *`); use either this or `period`. */
  schedule: z
    .string()
    .trim()
    .min(1)
    .superRefine((pattern, ctx) => {
      const problem = cronProblem(pattern)
      if (problem) {
        ctx.addIssue({
          code: 'custom',
          message: `schedule must be a cron expression like "0 2 * * *", got ${JSON.stringify(pattern)}: ${problem}`,
        })
      }
    })
    .optional(),
  /** The IANA time zone `schedule` is read in. */
  timezone: z
    .string()
    .refine(
      (zone) => IANAZone.isValidZone(zone),
      'timezone must be an IANA zone such as Europe/Berlin',
    )
    .default('UTC'),
  /**
   * A fixed ping token for config as code (`/ping/<token>`), so a cron line can be written before
   * Keel runs; without it Keel generates an unguessable one. Treat it like a password.
   */
  token: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,128}$/, 'token must be 8-128 letters, digits, "-" or "_"')
    .optional(),
  /** How late a ping may be before the monitor is down. */
  grace: durationField('grace').default(60_000),
})

/** A heartbeat monitor's timing fields, as `heartbeatDeadline` reads them. */
export type HeartbeatTiming = Pick<
  z.output<typeof heartbeatConfigSchema>,
  'period' | 'schedule' | 'timezone' | 'grace'
>

/**
 * When a heartbeat monitor becomes overdue: the last ping (or the monitor's creation) plus
 * `period`, or the first `schedule` time after it, plus `grace`. A schedule that never fires
 * again gives `Number.POSITIVE_INFINITY`.
 */
export function heartbeatDeadline(
  config: HeartbeatTiming,
  lastPingAt: number | undefined,
  createdAt: number,
): number {
  const base = lastPingAt ?? createdAt
  if (config.schedule !== undefined) {
    const cron = new Cron(config.schedule, { timezone: config.timezone, paused: true })
    const next = cron.nextRun(new Date(base))
    return next ? next.getTime() + config.grace : Number.POSITIVE_INFINITY
  }
  // Validation guarantees one of the two; an hour keeps a hand-built config from firing at once.
  return base + (config.period ?? 3_600_000) + config.grace
}

function expectation(config: HeartbeatTiming): string {
  const every =
    config.schedule !== undefined
      ? `expected at "${config.schedule}" ${config.timezone}`
      : `expected every ${formatDuration(config.period ?? 3_600_000)}`
  return `${every}, grace ${formatDuration(config.grace)}`
}

/**
 * A push monitor (Healthchecks.io style). The engine runs it only once the deadline has passed
 * without a ping, so `run` always reports the silence.
 */
export const heartbeatProbe = defineProbe({
  type: 'heartbeat',
  description:
    'Heartbeat (push): a cron job or backup pings Keel; silence past the deadline is down',
  configSchema: heartbeatConfigSchema,
  secretFields: ['token'],
  placeholders: [],
  validate(config) {
    const issues: ProbeConfigIssue[] = []
    if (config.period === undefined && config.schedule === undefined) {
      issues.push({
        path: ['period'],
        message: 'set period (like 1h) or schedule (a cron expression)',
      })
    }
    if (config.period !== undefined && config.schedule !== undefined) {
      issues.push({ path: ['schedule'], message: 'set period or schedule, not both' })
    }
    if (config.schedule !== undefined) {
      const problem = cronProblem(config.schedule, config.timezone)
      if (problem) issues.push({ path: ['schedule'], message: `schedule: ${problem}` })
    }
    return issues
  },
  expectations: (config) => [
    {
      text: `${
        config.schedule !== undefined
          ? `a ping for each run of "${config.schedule}" (${config.timezone})`
          : `a ping every ${formatDuration(config.period ?? 3_600_000)}`
      }, at most ${formatDuration(config.grace)} late`,
      otherwise: 'down',
    },
  ],
  target: (config) =>
    config.schedule !== undefined
      ? `heartbeat "${config.schedule}" ${config.timezone}`
      : `heartbeat every ${formatDuration(config.period ?? 3_600_000)}`,
  async run(config, context) {
    const since =
      context.lastPingAt !== undefined
        ? `no ping since ${new Date(context.lastPingAt).toISOString().replace(/\.\d{3}Z$/, 'Z')}`
        : 'no ping received yet'
    return { status: 'down', latencyMs: 0, message: `${since} (${expectation(config)})` }
  },
})
