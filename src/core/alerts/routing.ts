import { z } from 'zod'
import { parseDuration } from '../time.js'
import type { Labels } from './fingerprint.js'
import {
  createMatcher,
  formatMatchers,
  matchesAll,
  matchersSchema,
  type MatchOperator,
  type Matcher,
} from './matchers.js'

/**
 * A node of the routing tree, as Alertmanager's `route`. Unset options are inherited from the
 * parent (the root from `defaultRouteTiming`); `continue`, `matchers` and the time intervals
 * are not. `groupBy: ['...']` groups by every label, and an empty `groupBy` inherits, as in
 * Alertmanager. Durations are milliseconds.
 */
export interface Route {
  receiver?: string
  matchers?: readonly Matcher[]
  continue?: boolean
  groupBy?: readonly string[]
  groupWait?: number
  groupInterval?: number
  repeatInterval?: number
  muteTimeIntervals?: readonly string[]
  activeTimeIntervals?: readonly string[]
  routes?: readonly Route[]
}

/** Alertmanager's timing defaults for the root route: 30s, 5m and 4h. */
export const defaultRouteTiming = {
  groupWait: 30_000,
  groupInterval: 300_000,
  repeatInterval: 14_400_000,
} as const

/** A route an alert matched, with every inherited option resolved. */
export interface RouteMatch {
  route: Route
  /** Alertmanager's route key (`{}/{team="db"}`); siblings with equal matchers share it. */
  key: string
  /** Alertmanager's route ID: the key plus the position among siblings, unique in the tree. */
  id: string
  receiver?: string
  /** The labels alerts are grouped by; ignored when `groupByAll`. */
  groupBy: readonly string[]
  groupByAll: boolean
  groupWait: number
  groupInterval: number
  repeatInterval: number
  muteTimeIntervals: readonly string[]
  activeTimeIntervals: readonly string[]
  continue: boolean
}

// Alertmanager sorts a route's matchers (name, then value, then operator) before keying it.
const operatorOrder: Record<MatchOperator, number> = { '=': 0, '!=': 1, '=~': 2, '!~': 3 }

function compareMatchers(a: Matcher, b: Matcher): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1
  if (a.value !== b.value) return a.value < b.value ? -1 : 1
  return operatorOrder[a.operator] - operatorOrder[b.operator]
}

function resolve(route: Route, parent: RouteMatch | undefined, index: number): RouteMatch {
  const key = `${parent ? `${parent.key}/` : ''}${formatMatchers([...(route.matchers ?? [])].sort(compareMatchers))}`
  // An unset or empty `groupBy` inherits, as Alertmanager reads `group_by: []` as unset.
  const own = route.groupBy !== undefined && route.groupBy.length > 0 ? route.groupBy : undefined
  const groupByAll = own ? own.includes('...') : (parent?.groupByAll ?? false)
  const receiver = route.receiver ?? parent?.receiver
  return {
    route,
    key,
    id: parent ? `${key}/${index}` : key,
    ...(receiver === undefined ? {} : { receiver }),
    groupBy: own ? own.filter((label) => label !== '...') : (parent?.groupBy ?? []),
    groupByAll,
    groupWait: route.groupWait ?? parent?.groupWait ?? defaultRouteTiming.groupWait,
    groupInterval: route.groupInterval ?? parent?.groupInterval ?? defaultRouteTiming.groupInterval,
    repeatInterval:
      route.repeatInterval ?? parent?.repeatInterval ?? defaultRouteTiming.repeatInterval,
    muteTimeIntervals: route.muteTimeIntervals ?? [],
    activeTimeIntervals: route.activeTimeIntervals ?? [],
    continue: route.continue ?? false,
  }
}

function walk(resolved: RouteMatch, labels: Labels, out: RouteMatch[]): boolean {
  if (!matchesAll(resolved.route.matchers ?? [], labels)) return false
  const before = out.length
  for (const [index, child] of (resolved.route.routes ?? []).entries()) {
    const matched = walk(resolve(child, resolved, index), labels, out)
    if (matched && !child.continue) break
  }
  if (out.length === before) out.push(resolved)
  return true
}

/**
 * The routes an alert with these labels goes to, as Alertmanager's `Route.Match`: depth first,
 * stopping at the first matching child unless it has `continue: true`, and taking the parent
 * itself when none of its children match. Empty only when the root's own matchers fail.
 */
export function matchRoutes(tree: Route, labels: Labels): RouteMatch[] {
  const out: RouteMatch[] = []
  walk(resolve(tree, undefined, 0), labels, out)
  return out
}

/** A routing-tree node as `keel.yaml` spells it: Alertmanager's `route` with camelCase keys. */
export interface RouteConfig {
  receiver?: string
  groupBy?: string[]
  continue?: boolean
  matchers?: string | string[]
  /** Deprecated in Alertmanager: label → exact value. */
  match?: Record<string, string>
  /** Deprecated in Alertmanager: label → regex. */
  matchRe?: Record<string, string>
  groupWait?: string
  groupInterval?: string
  repeatInterval?: string
  muteTimeIntervals?: string[]
  activeTimeIntervals?: string[]
  routes?: RouteConfig[]
}

function durationField(field: string, allowZero: boolean) {
  return z.string().transform((text, ctx): number => {
    const ms = parseDuration(text)
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `\`${field}\` must be a duration such as 30s, 5m or 4h, got ${JSON.stringify(text)}`,
      })
      return z.NEVER
    }
    if (ms === 0 && !allowZero) {
      ctx.addIssue({ code: 'custom', message: `\`${field}\` cannot be zero; use at least 1s` })
      return z.NEVER
    }
    return ms
  })
}

const labelMap = z.record(z.string(), z.string()).optional()
const names = z.array(z.string().min(1, 'names must not be empty')).optional()

/**
 * One routing-tree node in config, parsed into a `Route`: matchers in Alertmanager syntax,
 * durations via `parseDuration`, and Alertmanager's checks on `groupBy` and zero intervals.
 */
export const routeSchema: z.ZodType<Route, RouteConfig> = z
  .object({
    receiver: z.string().min(1, '`receiver` must not be empty').optional(),
    groupBy: names,
    continue: z.boolean().optional(),
    matchers: matchersSchema.optional(),
    match: labelMap,
    matchRe: labelMap,
    groupWait: durationField('groupWait', true).optional(),
    groupInterval: durationField('groupInterval', false).optional(),
    repeatInterval: durationField('repeatInterval', false).optional(),
    muteTimeIntervals: names,
    activeTimeIntervals: names,
    get routes() {
      return z.array(routeSchema).optional()
    },
  })
  .transform((input, ctx): Route => {
    const { match, matchRe, matchers, groupBy, ...rest } = input
    if (groupBy?.includes('...') && groupBy.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['groupBy'],
        message: "route: `groupBy` cannot hold '...' (every label) and other labels; keep one",
      })
    }
    const duplicate = groupBy?.find((label, index) => groupBy.indexOf(label) !== index)
    if (duplicate !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['groupBy'],
        message: `route: \`groupBy\` lists ${JSON.stringify(duplicate)} twice; remove one`,
      })
    }
    const all: Matcher[] = []
    for (const [field, map, operator] of [
      ['match', match, '='],
      ['matchRe', matchRe, '=~'],
    ] as const) {
      for (const [name, value] of Object.entries(map ?? {})) {
        const created = createMatcher(name, operator, value)
        if (created.ok) all.push(created.matcher)
        else {
          ctx.addIssue({
            code: 'custom',
            path: [field, name],
            message: `route: \`${field}.${name}\`: ${created.reason}`,
          })
        }
      }
    }
    all.push(...(matchers ?? []))
    return {
      ...rest,
      ...(groupBy === undefined ? {} : { groupBy }),
      ...(all.length > 0 ? { matchers: all } : {}),
    }
  })

/**
 * The root of a routing tree in config. Besides `routeSchema`'s checks it holds Alertmanager's
 * rules for the root: it names the default `receiver` and has no matchers, no `continue` and
 * no time intervals, since every alert enters there.
 */
export const routeTreeSchema = routeSchema.superRefine((route, ctx) => {
  const problems: [string, boolean, string][] = [
    ['receiver', route.receiver === undefined, 'must name the default `receiver`'],
    ['matchers', (route.matchers ?? []).length > 0, 'must not have matchers; move them to a child'],
    ['continue', route.continue === true, 'cannot have `continue`'],
    [
      'muteTimeIntervals',
      (route.muteTimeIntervals ?? []).length > 0,
      'cannot have `muteTimeIntervals`; set them on a child',
    ],
    [
      'activeTimeIntervals',
      (route.activeTimeIntervals ?? []).length > 0,
      'cannot have `activeTimeIntervals`; set them on a child',
    ],
  ]
  for (const [field, bad, message] of problems) {
    if (bad) ctx.addIssue({ code: 'custom', path: [field], message: `the root route ${message}` })
  }
})
