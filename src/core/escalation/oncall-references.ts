/** One reference to an id that is not defined, with the path of the field that holds it. */
export interface OncallReferenceIssue {
  path: (string | number)[]
  message: string
}

/** What the on-call sections may refer to besides themselves. */
export interface OncallReferenceOptions {
  /** The channel ids defined under `channels`. */
  channels: readonly string[]
}

type UnknownRecord = Record<string, unknown>

function isRecord(value: unknown): value is UnknownRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function keysOf(value: unknown): string[] {
  return isRecord(value) ? Object.keys(value).sort() : []
}

function plural(kind: string): string {
  return kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`
}

function unknownId(kind: string, section: string, id: string, defined: readonly string[]): string {
  const known =
    defined.length === 0
      ? `no ${plural(kind)} are defined under \`${section}\``
      : `defined ${plural(kind)}: ${defined.join(', ')}`
  return `unknown ${kind} \`${id}\`; ${known}`
}

/**
 * Every reference in the on-call sections (`users`, `teams`, `schedules`, `escalationPolicies`,
 * `routes`) to a user, schedule, team, policy or channel that is not defined, with its path.
 * Reads its input defensively, so it also reports on a config that is otherwise invalid.
 */
export function oncallReferenceIssues(
  config: unknown,
  options: OncallReferenceOptions,
): OncallReferenceIssue[] {
  if (!isRecord(config)) return []
  const issues: OncallReferenceIssue[] = []
  const users = keysOf(config.users)
  const teams = keysOf(config.teams)
  const schedules = keysOf(config.schedules)
  const policies = keysOf(config.escalationPolicies)
  const channels = [...options.channels].sort()
  const check = (
    id: unknown,
    defined: readonly string[],
    kind: string,
    section: string,
    path: (string | number)[],
  ) => {
    if (typeof id === 'string' && !defined.includes(id)) {
      issues.push({ path, message: unknownId(kind, section, id, defined) })
    }
  }
  const eachOf = (list: unknown, visit: (item: unknown, index: number) => void) => {
    if (Array.isArray(list)) list.forEach(visit)
  }

  for (const [id, user] of Object.entries(isRecord(config.users) ? config.users : {})) {
    if (!isRecord(user)) continue
    eachOf(user.channels, (channel, index) =>
      check(channel, channels, 'channel', 'channels', ['users', id, 'channels', index]),
    )
  }
  for (const [id, team] of Object.entries(isRecord(config.teams) ? config.teams : {})) {
    if (!isRecord(team)) continue
    eachOf(team.members, (member, index) =>
      check(member, users, 'user', 'users', ['teams', id, 'members', index]),
    )
    check(team.escalationPolicy, policies, 'escalation policy', 'escalationPolicies', [
      'teams',
      id,
      'escalationPolicy',
    ])
  }
  for (const [id, schedule] of Object.entries(isRecord(config.schedules) ? config.schedules : {})) {
    if (!isRecord(schedule)) continue
    eachOf(schedule.layers, (layer, layerIndex) => {
      if (!isRecord(layer)) return
      eachOf(layer.users, (user, index) =>
        check(user, users, 'user', 'users', [
          'schedules',
          id,
          'layers',
          layerIndex,
          'users',
          index,
        ]),
      )
    })
    eachOf(schedule.overrides, (override, index) => {
      if (isRecord(override)) {
        check(override.user, users, 'user', 'users', ['schedules', id, 'overrides', index, 'user'])
      }
    })
  }
  for (const [id, policy] of Object.entries(
    isRecord(config.escalationPolicies) ? config.escalationPolicies : {},
  )) {
    if (!isRecord(policy)) continue
    eachOf(policy.levels, (level, levelIndex) => {
      if (!isRecord(level)) return
      eachOf(level.targets, (target, index) => {
        if (!isRecord(target)) return
        const path = ['escalationPolicies', id, 'levels', levelIndex, 'targets', index]
        check(target.user, users, 'user', 'users', [...path, 'user'])
        check(target.schedule, schedules, 'schedule', 'schedules', [...path, 'schedule'])
        check(target.team, teams, 'team', 'teams', [...path, 'team'])
      })
    })
  }
  if (isRecord(config.routes)) {
    eachOf(config.routes.match, (route, index) => {
      if (isRecord(route)) {
        check(route.escalationPolicy, policies, 'escalation policy', 'escalationPolicies', [
          'routes',
          'match',
          index,
          'escalationPolicy',
        ])
      }
    })
  }
  return issues
}
