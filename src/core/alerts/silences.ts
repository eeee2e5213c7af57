import { z } from 'zod'
import type { Instant } from '../time.js'
import type { Labels } from './fingerprint.js'
import { matchesAll, matchesValue, matchersSchema, type Matcher } from './matchers.js'
import {
  instantSchema,
  isInTimeWindow,
  nextTimeWindowChange,
  timeZoneField,
  weeklyWindowFields,
  type TimeWindow,
  type WeeklyWindow,
} from './time-window.js'

/** A weekly repetition of a silence: it mutes only inside these windows, until `until`. */
export interface SilenceRecurrence extends WeeklyWindow {
  until?: Instant
}

/**
 * A silence as Alertmanager has one: alerts matching every matcher are muted from `startsAt`
 * (inclusive) to `endsAt` (exclusive), and with a `recurrence` only inside its weekly windows.
 */
export interface Silence {
  id: string
  matchers: readonly Matcher[]
  startsAt: Instant
  endsAt: Instant
  createdBy: string
  comment: string
  recurrence?: SilenceRecurrence
}

/** Where a silence is in its life: not muting yet, muting now, or done for good. */
export type SilenceState = 'pending' | 'active' | 'expired'

function endOf(silence: Silence): Instant {
  return Math.min(silence.endsAt, silence.recurrence?.until ?? Number.POSITIVE_INFINITY)
}

function timeWindowOf(silence: Silence): TimeWindow {
  const { recurrence } = silence
  return {
    start: silence.startsAt,
    end: endOf(silence),
    ...(recurrence ? { weekly: recurrence } : {}),
  }
}

// Alertmanager counts `endsAt` itself as active; Keel's windows are half-open everywhere so that
// a silence ending when another starts never overlaps it.
function mutesAt(silence: Silence, at: Instant): boolean {
  return isInTimeWindow(timeWindowOf(silence), at)
}

/**
 * The state of a silence at `now`. A recurring silence is active only inside one of its
 * windows and pending between them, since it will mute again.
 */
export function silenceState(silence: Silence, now: Instant): SilenceState {
  if (now >= endOf(silence)) return 'expired'
  return mutesAt(silence, now) ? 'active' : 'pending'
}

/** The silences muting these labels at `now`, in the order given. */
export function silencedBy(labels: Labels, silences: readonly Silence[], now: Instant): Silence[] {
  return silences.filter((s) => mutesAt(s, now) && matchesAll(s.matchers, labels))
}

/** Whether any silence mutes these labels at `now`. */
export function isSilenced(labels: Labels, silences: readonly Silence[], now: Instant): boolean {
  return silences.some((s) => mutesAt(s, now) && matchesAll(s.matchers, labels))
}

/** The next instant after `after` at which the silence starts or stops muting, if any. */
export function nextSilenceChange(silence: Silence, after: Instant): Instant | undefined {
  return nextTimeWindowChange(timeWindowOf(silence), after)
}

/**
 * The silences muting now that stop muting for good within `within` milliseconds, soonest
 * first: the notice to extend them. A recurring silence counts only in its last window.
 */
export function silencesExpiringSoon(
  silences: readonly Silence[],
  now: Instant,
  within: number,
): Silence[] {
  const expiring: { silence: Silence; at: Instant }[] = []
  for (const silence of silences) {
    if (!mutesAt(silence, now)) continue
    const stops = nextSilenceChange(silence, now)
    if (stops === undefined || stops - now > within) continue
    if (nextSilenceChange(silence, stops) !== undefined) continue
    expiring.push({ silence, at: stops })
  }
  return expiring.sort((a, b) => a.at - b.at).map((e) => e.silence)
}

const requiredText = (field: string) =>
  z
    .string()
    .trim()
    .min(1, `\`${field}\` must not be empty; say who and why, as Alertmanager requires`)

/**
 * A silence in config or API input: matchers as Alertmanager strings, instants as ISO 8601 with
 * an offset or epoch ms. As in Alertmanager, at least one matcher must not match the empty
 * string, so a silence cannot mute every alert by accident.
 */
export const silenceSchema = z
  .object({
    id: z.string().min(1, '`id` must not be empty'),
    matchers: matchersSchema,
    startsAt: instantSchema('startsAt'),
    endsAt: instantSchema('endsAt'),
    createdBy: requiredText('createdBy'),
    comment: requiredText('comment'),
    recurrence: z
      .object({
        timeZone: timeZoneField('timeZone'),
        ...weeklyWindowFields,
        until: instantSchema('until').optional(),
      })
      .optional(),
  })
  .superRefine((silence, ctx) => {
    const prefix = `silence \`${silence.id}\``
    if (silence.matchers.every((m) => matchesValue(m, ''))) {
      ctx.addIssue({
        code: 'custom',
        path: ['matchers'],
        message: `${prefix}: \`matchers\` must include one that does not match the empty string, such as alertname="DiskFull"; otherwise it would silence every alert`,
      })
    }
    if (silence.endsAt <= silence.startsAt) {
      ctx.addIssue({
        code: 'custom',
        path: ['endsAt'],
        message: `${prefix}: \`endsAt\` must be after \`startsAt\``,
      })
    }
    const until = silence.recurrence?.until
    if (until !== undefined && until <= silence.startsAt) {
      ctx.addIssue({
        code: 'custom',
        path: ['recurrence', 'until'],
        message: `${prefix}: \`recurrence.until\` must be after \`startsAt\``,
      })
    }
  })

/** A silence as config or API input gives it, before parsing. */
export type SilenceInput = z.input<typeof silenceSchema>
