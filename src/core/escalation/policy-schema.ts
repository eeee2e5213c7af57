import { z } from 'zod'
import { durationField } from '../checks/index.js'
import { scheduleSchema, timeZoneSchema, type Schedule } from '../oncall/index.js'
import { parseLabelMatcher } from './label-matcher.js'
import { isAllowedKey, reservedKeyMessage } from '../reserved-keys.js'

const weekMs = 7 * 86_400_000

/** Ids of users, teams, schedules and policies: slugs, as monitor and channel ids are. */
export const oncallIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,127}$/,
    'ids must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
  )
  .refine(isAllowedKey, { error: (issue) => reservedKeyMessage(String(issue.input)) })

/** A person who can be paged: how to reach them is a list of channel ids. */
export const oncallUserSchema = z.strictObject({
  name: z.string().min(1).max(200).describe('Display name.'),
  email: z.email('`email` must be an e-mail address such as ann@example.org').optional(),
  channels: z
    .array(oncallIdSchema)
    .default([])
    .describe('Channel ids (under `channels`) this user is paged on, each one a message.'),
  timeZone: timeZoneSchema.optional().describe('Where the user lives, for display only.'),
})

/** A user as validated: name, optional e-mail and time zone, and the channels that reach them. */
export type OncallUser = z.output<typeof oncallUserSchema>

/** A group of users; paging a team pages every member, or one in turn with `roundRobin`. */
export const teamSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  members: z.array(oncallIdSchema).default([]).describe('User ids.'),
  escalationPolicy: oncallIdSchema
    .optional()
    .describe('The policy for incidents labelled `team=<this id>` that no route claims.'),
})

/** A team as validated. */
export type Team = z.output<typeof teamSchema>

/** Who one level pages: exactly one of a user, the person on call in a schedule, or a team. */
export const escalationTargetSchema = z
  .strictObject({
    user: oncallIdSchema.optional(),
    schedule: oncallIdSchema.optional(),
    team: oncallIdSchema.optional(),
  })
  .refine(
    (target) =>
      [target.user, target.schedule, target.team].filter((id) => id !== undefined).length === 1,
    { error: 'a target names exactly one of `user`, `schedule` or `team`' },
  )

/** One target of a level, as written. */
export type EscalationTargetInput = z.output<typeof escalationTargetSchema>

/** One target of a level: a user, a schedule's on-call person, or a team. */
export type EscalationTarget = { user: string } | { schedule: string } | { team: string }

/** One level of a policy: who is paged, and how long after the previous level. */
export const escalationLevelSchema = z.strictObject({
  delay: durationField('delay', { min: 0, max: weekMs })
    .optional()
    .describe(
      'How long after the previous level (for the first level: after the incident opened) this level is paged.',
    ),
  targets: z
    .array(escalationTargetSchema)
    .min(1, 'a level needs at least one target')
    .describe('Users, schedules and teams paged at this level.'),
  roundRobin: z
    .boolean()
    .default(false)
    .describe('Page one of the resolved users per escalation, each in turn, instead of all.'),
})

/**
 * An escalation policy: levels paged one after another until someone acknowledges, the whole
 * list `repeat` more times, and optionally paged again when an acknowledgement times out.
 */
export const escalationPolicySchema = z
  .strictObject({
    description: z.string().max(2000).optional(),
    levels: z.array(escalationLevelSchema).min(1, 'a policy needs at least one level').max(20),
    repeat: z
      .number()
      .int('`repeat` must be a whole number')
      .min(0)
      .max(9)
      .default(0)
      .describe('How many more times the levels are paged from the first after the last one.'),
    repeatDelay: durationField('repeatDelay', { min: 1_000, max: weekMs })
      .optional()
      .describe('How long after the last level a repeat starts (default 5m).'),
    ackTimeout: durationField('ackTimeout', { min: 1_000, max: weekMs })
      .optional()
      .describe(
        'An acknowledged incident not resolved within this time is escalated again from the first level.',
      ),
  })
  .superRefine((policy, ctx) => {
    policy.levels.forEach((level, index) => {
      if (index > 0 && level.delay === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['levels', index, 'delay'],
          message: `\`delay\` is required from the second level on: how long level ${index} has to acknowledge before level ${index + 1} is paged, such as 5m`,
        })
      }
    })
  })
  .transform((policy) => ({
    ...policy,
    levels: policy.levels.map((level) => ({
      delay: level.delay ?? 0,
      targets: level.targets.map((target): EscalationTarget =>
        target.user !== undefined
          ? { user: target.user }
          : target.schedule !== undefined
            ? { schedule: target.schedule }
            : { team: target.team as string },
      ),
      roundRobin: level.roundRobin,
    })),
    repeatDelay: policy.repeatDelay ?? defaultRepeatDelayMs,
  }))

/** The wait between the last level and the first level of a repeat when a policy sets none. */
export const defaultRepeatDelayMs = 300_000

/** An escalation policy as validated: delays and timeouts in milliseconds. */
export type EscalationPolicy = z.output<typeof escalationPolicySchema>

/** One level of a validated policy. */
export type EscalationLevel = EscalationPolicy['levels'][number]

/** One route: an incident whose labels match every matcher escalates with the policy. */
export const escalationRouteSchema = z.strictObject({
  matchers: z
    .array(
      z.string().refine((text) => parseLabelMatcher(text).ok, {
        error: (issue) => {
          const parsed = parseLabelMatcher(String(issue.input))
          return parsed.ok ? 'invalid matcher' : parsed.reason
        },
      }),
    )
    .default([])
    .describe(
      'Alertmanager-style matchers such as severity="critical" or team=~"db|dba"; none matches all.',
    ),
  escalationPolicy: oncallIdSchema.describe('The policy id incidents matching this route use.'),
})

/** One route as validated. */
export type EscalationRoute = z.output<typeof escalationRouteSchema>

/**
 * Which policy an incident escalates with: the first matching route in `match`. A simple flat
 * list; the routing tree under `alerting.route` (receivers naming an `escalationPolicy`) is
 * consulted first and, when it names a policy, wins.
 */
export const escalationRoutesSchema = z.strictObject({
  match: z
    .array(escalationRouteSchema)
    .default([])
    .describe('Routes tried in order; the first whose matchers all match picks the policy.'),
})

/** The routes as validated. */
export type EscalationRoutes = z.output<typeof escalationRoutesSchema>

/** A schedule as written under `schedules.<id>`: the schedule without its id. */
export const scheduleBodySchema = scheduleSchema.omit({ id: true }).strict()

/** The `schedules` map: ids become part of each schedule, as the schedule functions expect. */
export const schedulesSchema = z
  .record(oncallIdSchema, scheduleBodySchema)
  .transform((schedules): Record<string, Schedule> =>
    Object.fromEntries(Object.entries(schedules).map(([id, body]) => [id, { ...body, id }])),
  )

/** The on-call sections of keel.yaml, each a map keyed by id (routes are an ordered list). */
export const oncallConfigShape = {
  users: z.record(oncallIdSchema, oncallUserSchema).default({}).describe('People, keyed by id.'),
  teams: z.record(oncallIdSchema, teamSchema).default({}).describe('Teams, keyed by id.'),
  schedules: schedulesSchema.default({}).describe('On-call schedules, keyed by id.'),
  escalationPolicies: z
    .record(oncallIdSchema, escalationPolicySchema)
    .default({})
    .describe('Escalation policies, keyed by id.'),
  routes: escalationRoutesSchema
    .prefault({})
    .describe('Which escalation policy an incident uses, by its labels.'),
}

/** The on-call sections on their own, as stored after `keel apply` and read by every node. */
export const oncallConfigSchema = z.object(oncallConfigShape)

/** The validated on-call configuration: users, teams, schedules, policies and routes. */
export type OncallConfig = z.output<typeof oncallConfigSchema>

/** The on-call configuration as written, before defaults and transforms. */
export type OncallConfigInput = z.input<typeof oncallConfigSchema>
