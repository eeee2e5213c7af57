import { z } from 'zod'
import { formatDuration, parseDuration } from '../core/time.js'

const weekMs = 7 * 86_400_000
const minuteMs = 60_000

/**
 * An acknowledgement timeout in milliseconds: a duration from 1m to 7d, or `off` (also `0`) for
 * none. Anything shorter would be rounded up by the re-trigger pass, which runs every 15 s.
 */
const ackTimeoutSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  if (value === 'off') return 0
  const ms = typeof value === 'number' ? Math.round(value * 1000) : parseDuration(value)
  const fix = 'a duration from 1m to 7d, or off'
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be ${fix}, got ${JSON.stringify(value)}` })
    return z.NEVER
  }
  if (ms !== 0 && (ms < minuteMs || ms > weekMs)) {
    ctx.addIssue({ code: 'custom', message: `must be ${fix}, got ${formatDuration(ms)}` })
    return z.NEVER
  }
  return ms
})

/** The `incidents:` section of keel.yaml: how incidents opened from alerts behave. */
export const incidentsSectionSchema = z
  .object({
    autoResolve: z
      .boolean()
      .default(true)
      .describe(
        'Resolve an incident when every alert linked to it has resolved. Applies to incidents opened after the change.',
      ),
    ackTimeout: ackTimeoutSchema
      .default(30 * minuteMs)
      .describe(
        'Re-trigger (and page again) an acknowledged incident not resolved within this long; `off` or 0 never does. An escalation policy’s own `ackTimeout` wins for the incidents it escalates.',
      ),
  })
  .strict()

/** The `incidents:` section parsed: `ackTimeout` in milliseconds, 0 when off. */
export type IncidentsSection = z.output<typeof incidentsSectionSchema>
