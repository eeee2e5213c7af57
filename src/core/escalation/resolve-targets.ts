import { whoIsOnCall, type Schedule } from '../oncall/index.js'
import type { Instant } from '../time.js'
import type { EscalationLevel, EscalationTarget, OncallUser, Team } from './policy-schema.js'

/** What resolving a level's targets looks at. */
export interface ResolveTargetsContext {
  schedules: Readonly<Record<string, Schedule>>
  teams: Readonly<Record<string, Team>>
  /** When given, user ids that are not defined here are reported instead of paged. */
  users?: Readonly<Record<string, OncallUser>>
  now: Instant
  /**
   * For a round-robin level: how many times the level has paged before, across escalations.
   * The user at this position (modulo the number of users) is paged.
   */
  roundRobinCursor?: number
}

/** The users a level pages, and the targets that gave nobody. */
export interface ResolvedTargets {
  users: string[]
  unresolved: { target: EscalationTarget; reason: string }[]
}

function describeTarget(target: EscalationTarget): string {
  if ('user' in target) return `user ${target.user}`
  if ('schedule' in target) return `schedule ${target.schedule}`
  return `team ${target.team}`
}

/**
 * The users one level pages at `now`: a user target itself, a schedule's on-call person (nobody
 * during a gap), every member of a team, in target order without duplicates. A round-robin
 * level pages just one of them, the one at `roundRobinCursor`.
 */
export function resolveTargets(
  level: EscalationLevel,
  context: ResolveTargetsContext,
): ResolvedTargets {
  const users: string[] = []
  const unresolved: ResolvedTargets['unresolved'] = []
  const add = (user: string) => {
    if (context.users !== undefined && !Object.hasOwn(context.users, user)) {
      unresolved.push({ target: { user }, reason: `user ${user} is not defined under users` })
    } else if (!users.includes(user)) users.push(user)
  }
  for (const target of level.targets) {
    if ('user' in target) add(target.user)
    else if ('schedule' in target) {
      const schedule = Object.hasOwn(context.schedules, target.schedule)
        ? context.schedules[target.schedule]
        : undefined
      if (schedule === undefined) {
        unresolved.push({ target, reason: `${describeTarget(target)} is not defined` })
        continue
      }
      const onCall = whoIsOnCall(schedule, context.now)[0]?.user
      if (onCall === undefined) {
        unresolved.push({ target, reason: `nobody is on call in ${describeTarget(target)}` })
      } else add(onCall)
    } else {
      const team = Object.hasOwn(context.teams, target.team)
        ? context.teams[target.team]
        : undefined
      if (team === undefined) {
        unresolved.push({ target, reason: `${describeTarget(target)} is not defined` })
      } else if (team.members.length === 0) {
        unresolved.push({ target, reason: `${describeTarget(target)} has no members` })
      } else team.members.forEach(add)
    }
  }
  if (!level.roundRobin || users.length <= 1) return { users, unresolved }
  const cursor = Math.max(0, Math.trunc(context.roundRobinCursor ?? 0))
  return { users: [users[cursor % users.length] as string], unresolved }
}
