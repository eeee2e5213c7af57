import { timingSafeEqual } from 'node:crypto'
import type { FieldChange } from '../core/config/index.js'
import { InputError, NotFoundError } from '../core/errors.js'
import {
  escalationPlan,
  escalationPolicyFor,
  oncallConfigSchema,
  oncallReferenceIssues,
  type EscalationPolicy,
  type EscalationPolicyChoice,
  type OncallConfig,
} from '../core/escalation/index.js'
import {
  finalSchedule,
  nextHandoff,
  scheduleGaps,
  scheduleToICal,
  whoIsOnCall,
  type Schedule,
} from '../core/oncall/index.js'
import type { Clock } from '../core/time.js'
import type { Executor } from '../store/dialect.js'
import { getEscalation, listEscalationSteps, type EscalationStep } from '../store/escalations.js'
import { getMeta, setMeta } from '../store/meta.js'
import { listScheduleOverrides } from '../store/schedule-overrides.js'
import { signForPurpose } from './ack-links.js'

/** The keel.yaml sections that make up the on-call configuration, in a fixed order. */
export const oncallSections = [
  'users',
  'teams',
  'schedules',
  'escalationPolicies',
  'routes',
] as const

/** The on-call sections as written in keel.yaml (variables expanded), the form `apply` stores. */
export type OncallSectionsInput = Record<(typeof oncallSections)[number], unknown>

const key = 'config:oncall'

/** The on-call sections of a config as written, with absent sections as empty maps. */
export function oncallSectionsOf(raw: Record<string, unknown>): OncallSectionsInput {
  return Object.fromEntries(
    oncallSections.map((section) => [section, raw[section] ?? {}]),
  ) as OncallSectionsInput
}

/**
 * Checks on-call sections as `apply` would store them, references to `channels` included, and
 * throws an InputError listing every problem with its path.
 */
export function validateOncallSections(
  sections: OncallSectionsInput,
  channels: readonly string[],
): OncallConfig {
  const parsed = oncallConfigSchema.safeParse(sections)
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((issue) => ({
          path: issue.path.join('.'),
          message: issue.message,
        }))),
    ...oncallReferenceIssues(sections, { channels }).map((issue) => ({
      path: issue.path.join('.'),
      message: issue.message,
    })),
  ]
  if (!parsed.success || problems.length > 0) {
    throw new InputError(
      `the on-call configuration is invalid; run keel validate to see where:\n${problems
        .map((p) => `  ${p.path}: ${p.message}`)
        .join('\n')}`,
      { details: problems },
    )
  }
  return parsed.data
}

/** The on-call sections last applied, as written (all empty before the first apply). */
export async function readOncallSections(db: Executor): Promise<OncallSectionsInput> {
  const text = await getMeta(db, key)
  return oncallSectionsOf(text === undefined ? {} : (JSON.parse(text) as Record<string, unknown>))
}

/**
 * Stores the on-call sections (inside the apply transaction). They are one JSON document in
 * `keel_meta` because they are only ever read and replaced whole, as one validated unit whose
 * parts refer to each other; every node reads the same document.
 */
export async function writeOncallSections(
  db: Executor,
  sections: OncallSectionsInput,
): Promise<void> {
  await setMeta(db, key, JSON.stringify(oncallSectionsOf(sections)))
}

/** The on-call changes an apply makes: one entry per user, team, schedule or policy, and routes. */
export function diffOncallSections(
  before: OncallSectionsInput,
  after: OncallSectionsInput,
): FieldChange[] {
  const changes: FieldChange[] = []
  for (const section of oncallSections) {
    const was = before[section]
    const will = after[section]
    if (section === 'routes') {
      if (JSON.stringify(was) !== JSON.stringify(will)) {
        changes.push({ path: 'routes', before: was, after: will })
      }
      continue
    }
    const a = (was ?? {}) as Record<string, unknown>
    const b = (will ?? {}) as Record<string, unknown>
    for (const id of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (JSON.stringify(a[id]) !== JSON.stringify(b[id])) {
        changes.push({ path: `${section}.${id}`, before: a[id], after: b[id] })
      }
    }
  }
  return changes
}

let cache: { text: string; config: OncallConfig } | undefined

/** The applied on-call configuration, validated; parsed once per distinct stored document. */
export async function readOncallConfig(db: Executor): Promise<OncallConfig> {
  const text = (await getMeta(db, key)) ?? '{}'
  if (cache?.text === text) return cache.config
  const parsed = oncallConfigSchema.safeParse(
    oncallSectionsOf(JSON.parse(text) as Record<string, unknown>),
  )
  if (!parsed.success) {
    // Apply validated it; a document this version cannot read was written by another version.
    throw new Error(
      `the stored on-call configuration does not validate (${parsed.error.issues[0]?.message ?? ''}); run keel apply with this version of Keel`,
    )
  }
  cache = { text, config: parsed.data }
  return parsed.data
}

/** The escalation policy an incident with these labels follows, per the applied routes. */
export async function escalationPolicyForLabels(
  db: Executor,
  labels: Readonly<Record<string, string>>,
): Promise<EscalationPolicyChoice | undefined> {
  return escalationPolicyFor(await readOncallConfig(db), labels)
}

/** How far ahead of an instant a stored override can still matter (the next hand-off). */
const overrideLookaheadMs = 366 * 86_400_000

/**
 * The on-call configuration with the overrides made through the API that overlap `[from, to)`
 * placed above those of keel.yaml (the later override wins where two overlap), for every reader
 * that asks who is on call: the calendar, "now", gaps, the iCal feed and the escalator. An
 * override of a schedule that keel.yaml no longer defines is ignored.
 */
export async function readOncallConfigWithOverrides(
  db: Executor,
  from: number,
  to: number,
): Promise<OncallConfig> {
  const config = await readOncallConfig(db)
  const stored = await listScheduleOverrides(db, { from, to })
  if (stored.length === 0) return config
  const schedules = { ...config.schedules }
  for (const override of stored) {
    if (!Object.hasOwn(schedules, override.scheduleId)) continue
    const schedule = schedules[override.scheduleId] as Schedule
    schedules[override.scheduleId] = {
      ...schedule,
      overrides: [
        ...schedule.overrides,
        { user: override.user, start: override.start, end: override.end },
      ],
    }
  }
  return { ...config, schedules }
}

/** What read services need: the store and the clock. */
export type OncallReadContext = { db: Executor; clock: Clock }

function scheduleOf(config: OncallConfig, id: string): Schedule {
  const schedule = Object.hasOwn(config.schedules, id) ? config.schedules[id] : undefined
  if (schedule === undefined) {
    const known = Object.keys(config.schedules).sort()
    throw new NotFoundError(
      `schedule ${id} does not exist; ${known.length === 0 ? 'no schedules are configured' : `schedules: ${known.join(', ')}`}`,
    )
  }
  return schedule
}

function userName(config: OncallConfig, user: string | undefined): string | undefined {
  return user === undefined ? undefined : config.users[user]?.name
}

/** Who is on call in one schedule at an instant. */
export interface OnCallNow {
  schedule: string
  timeZone: string
  /** Absent when the schedule has a gap. */
  user?: string
  name?: string
  /** The shift's whole span (absent in a gap). */
  start?: number
  end?: number
  source?: 'layer' | 'override'
  layer?: string
  /** The next change of person after `at`, when there is one within a year. */
  nextHandoff?: number
}

/** Who is on call in every schedule at `at` (now when absent), schedules by id. */
export async function onCallNow(
  ctx: OncallReadContext,
  at?: number,
): Promise<{ at: number; schedules: OnCallNow[] }> {
  const when = at ?? ctx.clock.now()
  const config = await readOncallConfigWithOverrides(ctx.db, when, when + overrideLookaheadMs)
  const schedules = Object.keys(config.schedules)
    .sort()
    .map((id): OnCallNow => {
      const schedule = config.schedules[id] as Schedule
      const shift = whoIsOnCall(schedule, when)[0]
      const handoff = nextHandoff(schedule, when)
      const name = userName(config, shift?.user)
      return {
        schedule: id,
        timeZone: schedule.timeZone,
        ...(shift?.user !== undefined
          ? {
              user: shift.user,
              ...(name !== undefined ? { name } : {}),
              start: shift.start,
              end: shift.end,
              source: shift.source.kind === 'override' ? 'override' : 'layer',
              ...(shift.source.kind === 'layer' ? { layer: shift.source.layerId } : {}),
            }
          : {}),
        ...(handoff !== undefined ? { nextHandoff: handoff } : {}),
      }
    })
  return { at: when, schedules }
}

/** The longest range a schedule read may ask for. */
export const maxScheduleRangeMs = 366 * 86_400_000

function checkRange(from: number, to: number): void {
  if (!(to > from)) {
    throw new InputError(`\`to\` must be after \`from\`; got from ${from} and to ${to}`, {
      details: [{ path: 'to', message: 'must be after from' }],
    })
  }
  if (to - from > maxScheduleRangeMs) {
    throw new InputError('a schedule range may span at most 366 days; ask for less', {
      details: [{ path: 'to', message: 'at most 366 days after from' }],
    })
  }
}

/** One span of the final schedule, with the user's display name. */
export interface ScheduleSpanView {
  start: number
  end: number
  user?: string
  name?: string
  source: 'layer' | 'override' | 'gap'
  layer?: string
}

/** The final schedule of `id` over `[from, to)`: spans that tile the range, gaps included. */
export async function scheduleFinalView(
  ctx: OncallReadContext,
  id: string,
  from: number,
  to: number,
): Promise<{
  schedule: string
  timeZone: string
  from: number
  to: number
  spans: ScheduleSpanView[]
}> {
  checkRange(from, to)
  const config = await readOncallConfigWithOverrides(ctx.db, from, to)
  const schedule = scheduleOf(config, id)
  const spans = finalSchedule(schedule, from, to).map((span): ScheduleSpanView => {
    const name = userName(config, span.user)
    return {
      start: span.start,
      end: span.end,
      ...(span.user !== undefined ? { user: span.user } : {}),
      ...(name !== undefined ? { name } : {}),
      source: span.source.kind,
      ...(span.source.kind === 'layer' ? { layer: span.source.layerId } : {}),
    }
  })
  return { schedule: id, timeZone: schedule.timeZone, from, to, spans }
}

/** The ranges within `[from, to)` when nobody is on call in schedule `id`. */
export async function scheduleGapsView(
  ctx: OncallReadContext,
  id: string,
  from: number,
  to: number,
): Promise<{ schedule: string; from: number; to: number; gaps: { start: number; end: number }[] }> {
  checkRange(from, to)
  const schedule = scheduleOf(await readOncallConfigWithOverrides(ctx.db, from, to), id)
  return { schedule: id, from, to, gaps: scheduleGaps(schedule, from, to) }
}

/** The secret token of a schedule's calendar feed; it changes when the secret key does. */
export function scheduleFeedToken(key: Uint8Array, scheduleId: string): string {
  return signForPurpose(key, 'ical-feed', scheduleId).slice(0, 32)
}

/** How far a calendar feed reaches back and ahead of now. */
export const feedWindow = { backMs: 7 * 86_400_000, aheadMs: 60 * 86_400_000 }

/**
 * The iCalendar feed of schedule `id`, for a URL that carries the schedule's token instead of a
 * bearer token (calendar apps cannot send headers). A wrong token reads as an unknown schedule,
 * so the feed does not say which schedules exist.
 */
export async function scheduleICalFeed(
  ctx: OncallReadContext,
  key: Uint8Array,
  id: string,
  token: string,
): Promise<string> {
  const now = ctx.clock.now()
  const config = await readOncallConfigWithOverrides(
    ctx.db,
    now - feedWindow.backMs,
    now + feedWindow.aheadMs,
  )
  const exists = Object.hasOwn(config.schedules, id)
  const expected = Buffer.from(scheduleFeedToken(key, id))
  const given = Buffer.from(token)
  const valid = given.length === expected.length && timingSafeEqual(given, expected)
  if (!exists || !valid) {
    throw new NotFoundError('no calendar feed at this URL; copy the feed URL from Keel again')
  }
  return scheduleToICal(
    config.schedules[id] as Schedule,
    now - feedWindow.backMs,
    now + feedWindow.aheadMs,
    { calendarName: `On call: ${id}`, now },
  )
}

/** A policy as the API shows it: levels with delays in ms and the plan if nobody answers. */
export interface EscalationPolicyView {
  id: string
  description?: string
  levels: EscalationPolicy['levels']
  repeat: number
  repeatDelay: number
  ackTimeout?: number
  /** Offsets from the start (ms) of every step when nobody acknowledges. */
  plan: { level: number; repeatIndex: number; after: number }[]
  /** Teams that use this policy for their incidents. */
  teams: string[]
  /** Indexes in `routes.match` that send incidents here. */
  routes: number[]
}

/** Every escalation policy, by id. */
export async function listEscalationPolicies(
  ctx: Pick<OncallReadContext, 'db'>,
): Promise<EscalationPolicyView[]> {
  const config = await readOncallConfig(ctx.db)
  return Object.keys(config.escalationPolicies)
    .sort()
    .map((id) => {
      const policy = config.escalationPolicies[id] as EscalationPolicy
      return {
        id,
        ...(policy.description !== undefined ? { description: policy.description } : {}),
        levels: policy.levels,
        repeat: policy.repeat,
        repeatDelay: policy.repeatDelay,
        ...(policy.ackTimeout !== undefined ? { ackTimeout: policy.ackTimeout } : {}),
        plan: escalationPlan(policy, 0).map((step) => ({
          level: step.level,
          repeatIndex: step.repeatIndex,
          after: step.at,
        })),
        teams: Object.keys(config.teams)
          .filter((team) => config.teams[team]?.escalationPolicy === id)
          .sort(),
        routes: config.routes.match.flatMap((route, index) =>
          route.escalationPolicy === id ? [index] : [],
        ),
      }
    })
}

/** The acknowledgement timeout an incident escalated with `policyId` should get, if any. */
export async function ackTimeoutOfPolicy(
  db: Executor,
  policyId: string,
): Promise<number | undefined> {
  const config = await readOncallConfig(db)
  return Object.hasOwn(config.escalationPolicies, policyId)
    ? config.escalationPolicies[policyId]?.ackTimeout
    : undefined
}

/** An incident's escalation and every step it queued, for the incident page and the API. */
export async function escalationView(
  ctx: Pick<OncallReadContext, 'db'>,
  incidentId: number,
): Promise<{
  incidentId: number
  policyId: string
  round: number
  status: string
  startedAt: number
  steps: EscalationStep[]
}> {
  const escalation = await getEscalation(ctx.db, incidentId)
  if (escalation === undefined) {
    throw new NotFoundError(`incident ${incidentId} has no escalation`)
  }
  const steps = (await listEscalationSteps(ctx.db, { incidentId })).map((step) => {
    const { leaseOwner: _owner, leaseUntil: _until, ...rest } = step
    return rest
  })
  return {
    incidentId,
    policyId: escalation.policyId,
    round: escalation.round,
    status: escalation.status,
    startedAt: escalation.startedAt,
    steps,
  }
}
