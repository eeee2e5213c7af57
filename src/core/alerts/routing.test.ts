import { describe, expect, it } from 'vitest'
import type { Labels } from './fingerprint.js'
import { parseMatchers, type Matcher } from './matchers.js'
import {
  defaultRouteTiming,
  matchRoutes,
  routeSchema,
  routeTreeSchema,
  type Route,
  type RouteConfig,
  type RouteMatch,
} from './routing.js'

function matchers(text: string): Matcher[] {
  const result = parseMatchers(text)
  if (!result.ok) throw new Error(result.reason)
  return result.matchers
}

const minute = 60_000
const hour = 60 * minute

const tree: Route = {
  receiver: 'default',
  groupBy: ['alertname'],
  routes: [
    {
      matchers: matchers('team="db"'),
      receiver: 'db-pager',
      groupBy: ['alertname', 'service'],
      groupWait: 10_000,
      routes: [
        { matchers: matchers('severity="critical"'), receiver: 'db-oncall', repeatInterval: hour },
        { matchers: matchers('env="staging"'), groupBy: [] },
        { matchers: matchers('service="noisy"'), muteTimeIntervals: ['nights'] },
      ],
    },
    { matchers: matchers('team="web"'), receiver: 'web', continue: true },
    { matchers: matchers('team=~"web|api"'), receiver: 'frontend-audit', groupBy: ['...'] },
    {
      matchers: matchers('service="batch"'),
      receiver: 'batch',
      muteTimeIntervals: ['business-hours'],
      routes: [{ matchers: matchers('severity="critical"'), groupBy: ['job'] }],
    },
    { matchers: matchers('team="web"'), receiver: 'never-reached' },
  ],
}

type Summary = Pick<RouteMatch, 'receiver' | 'key' | 'id' | 'groupBy' | 'groupByAll'> &
  Partial<RouteMatch>

function summary(match: RouteMatch): Summary {
  return {
    receiver: match.receiver,
    key: match.key,
    id: match.id,
    groupBy: match.groupBy,
    groupByAll: match.groupByAll,
    groupWait: match.groupWait,
    groupInterval: match.groupInterval,
    repeatInterval: match.repeatInterval,
    muteTimeIntervals: match.muteTimeIntervals,
  }
}

const defaults = {
  groupWait: defaultRouteTiming.groupWait,
  groupInterval: defaultRouteTiming.groupInterval,
  repeatInterval: defaultRouteTiming.repeatInterval,
  muteTimeIntervals: [],
}

describe('matchRoutes', () => {
  it.each<{ name: string; labels: Labels; matches: Summary[] }>([
    {
      name: 'an alert no child matches goes to the root with the Alertmanager defaults',
      labels: { alertname: 'x', team: 'ops' },
      matches: [
        {
          receiver: 'default',
          key: '{}',
          id: '{}',
          groupBy: ['alertname'],
          groupByAll: false,
          ...defaults,
        },
      ],
    },
    {
      name: 'a parent whose children all fail takes the alert itself',
      labels: { team: 'db', severity: 'warning' },
      matches: [
        {
          receiver: 'db-pager',
          key: '{}/{team="db"}',
          id: '{}/{team="db"}/0',
          groupBy: ['alertname', 'service'],
          groupByAll: false,
          ...defaults,
          groupWait: 10_000,
        },
      ],
    },
    {
      name: 'a grandchild sets its own receiver and repeat interval and inherits group_by and group_wait',
      labels: { team: 'db', severity: 'critical' },
      matches: [
        {
          receiver: 'db-oncall',
          key: '{}/{team="db"}/{severity="critical"}',
          id: '{}/{team="db"}/{severity="critical"}/0',
          groupBy: ['alertname', 'service'],
          groupByAll: false,
          ...defaults,
          groupWait: 10_000,
          repeatInterval: hour,
        },
      ],
    },
    {
      name: 'a child without a receiver inherits it, and an empty group_by inherits too',
      labels: { team: 'db', env: 'staging' },
      matches: [
        {
          receiver: 'db-pager',
          key: '{}/{team="db"}/{env="staging"}',
          id: '{}/{team="db"}/{env="staging"}/1',
          groupBy: ['alertname', 'service'],
          groupByAll: false,
          ...defaults,
          groupWait: 10_000,
        },
      ],
    },
    {
      name: 'the first matching child wins, so a later one is never tried',
      labels: { team: 'db', service: 'batch' },
      matches: [
        expect.objectContaining({ receiver: 'db-pager', key: '{}/{team="db"}' }) as Summary,
      ],
    },
    {
      name: 'continue: true lets the next matching sibling take the alert too',
      labels: { team: 'web' },
      matches: [
        {
          receiver: 'web',
          key: '{}/{team="web"}',
          id: '{}/{team="web"}/1',
          groupBy: ['alertname'],
          groupByAll: false,
          ...defaults,
        },
        {
          receiver: 'frontend-audit',
          key: '{}/{team=~"web|api"}',
          id: '{}/{team=~"web|api"}/2',
          groupBy: [],
          groupByAll: true,
          ...defaults,
        },
      ],
    },
    {
      name: "continue on the first route does not skip the second route's own stop",
      labels: { team: 'api' },
      matches: [
        expect.objectContaining({ receiver: 'frontend-audit', groupByAll: true }) as Summary,
      ],
    },
    {
      name: 'mute time intervals apply to their route but are not inherited',
      labels: { service: 'batch', severity: 'critical', job: 'nightly' },
      matches: [
        {
          receiver: 'batch',
          key: '{}/{service="batch"}/{severity="critical"}',
          id: '{}/{service="batch"}/{severity="critical"}/0',
          groupBy: ['job'],
          groupByAll: false,
          ...defaults,
        },
      ],
    },
    {
      name: 'a route muted by a time interval still takes the alert',
      labels: { service: 'batch' },
      matches: [
        expect.objectContaining({
          receiver: 'batch',
          muteTimeIntervals: ['business-hours'],
        }) as Summary,
      ],
    },
    {
      name: 'a regex child matches only whole values',
      labels: { team: 'webops' },
      matches: [expect.objectContaining({ receiver: 'default', key: '{}' }) as Summary],
    },
  ])('$name', ({ labels, matches }) => {
    expect(matchRoutes(tree, labels).map(summary)).toEqual(matches)
  })

  it.each<{ name: string; tree: Route; labels: Labels; receivers: (string | undefined)[] }>([
    {
      name: 'a tree whose root does not match routes nowhere',
      tree: { receiver: 'r', matchers: matchers('env="prod"') },
      labels: { env: 'dev' },
      receivers: [],
    },
    {
      name: 'continue inside a nested level fans out there',
      tree: {
        receiver: 'root',
        routes: [
          {
            matchers: matchers('team="db"'),
            routes: [
              { matchers: matchers('severity=~"crit.*"'), receiver: 'pager', continue: true },
              { matchers: matchers('team="db"'), receiver: 'chat' },
            ],
          },
          { matchers: matchers('team="db"'), receiver: 'not-reached' },
        ],
      },
      labels: { team: 'db', severity: 'critical' },
      receivers: ['pager', 'chat'],
    },
    {
      name: 'a matching child with continue and no later match still keeps the parent out',
      tree: {
        receiver: 'root',
        routes: [{ matchers: matchers('a="1"'), receiver: 'child', continue: true }],
      },
      labels: { a: '1' },
      receivers: ['child'],
    },
    {
      name: 'a route matching on a missing label with ="" takes the alert',
      tree: { receiver: 'root', routes: [{ matchers: matchers('team=""'), receiver: 'unowned' }] },
      labels: { alertname: 'x' },
      receivers: ['unowned'],
    },
    {
      name: 'a tree built without any receiver leaves it unset',
      tree: { routes: [{ matchers: matchers('a="1"') }] },
      labels: { a: '1' },
      receivers: [undefined],
    },
  ])('$name', ({ tree, labels, receivers }) => {
    expect(matchRoutes(tree, labels).map((m) => m.receiver)).toEqual(receivers)
  })

  it('keys a route by its matchers in Alertmanager order (name, value, operator)', () => {
    const route: Route = {
      receiver: 'r',
      routes: [{ matchers: matchers('{b=~"x", a=~"1", a!="0"}') }],
    }
    expect(matchRoutes(route, { a: '1', b: 'x' })[0]?.key).toBe('{}/{a!="0",a=~"1",b=~"x"}')
  })

  it('gives siblings with equal matchers one key but different ids', () => {
    const route: Route = {
      receiver: 'r',
      routes: [
        { matchers: matchers('team="db"'), receiver: 'a', continue: true },
        { matchers: matchers('team="db"'), receiver: 'b' },
      ],
    }
    const [first, second] = matchRoutes(route, { team: 'db' })
    expect(first?.key).toBe(second?.key)
    expect([first?.id, second?.id]).toEqual(['{}/{team="db"}/0', '{}/{team="db"}/1'])
  })
})

describe('routeSchema', () => {
  it('reads a config tree into routes with parsed matchers and millisecond durations', () => {
    const config: RouteConfig = {
      receiver: 'default',
      groupBy: ['alertname', 'cluster'],
      groupWait: '45s',
      routes: [
        {
          matchers: ['team="db"', 'severity=~"crit|warn"'],
          match: { env: 'prod' },
          matchRe: { service: 'db-.*' },
          receiver: 'dba',
          groupInterval: '10m',
          repeatInterval: '1h30m',
          continue: true,
          muteTimeIntervals: ['weekends'],
        },
      ],
    }
    expect(routeTreeSchema.parse(config)).toEqual({
      receiver: 'default',
      groupBy: ['alertname', 'cluster'],
      groupWait: 45_000,
      routes: [
        {
          matchers: matchers('env="prod", service=~"db-.*", team="db", severity=~"crit|warn"'),
          receiver: 'dba',
          groupInterval: 10 * minute,
          repeatInterval: 90 * minute,
          continue: true,
          muteTimeIntervals: ['weekends'],
        },
      ],
    })
  })

  it.each<{ name: string; config: RouteConfig; path: (string | number)[]; says: string }>([
    {
      name: "'...' with other labels",
      config: { groupBy: ['...', 'alertname'] },
      path: ['groupBy'],
      says: "cannot hold '...'",
    },
    {
      name: 'a label listed twice in groupBy',
      config: { groupBy: ['a', 'b', 'a'] },
      path: ['groupBy'],
      says: 'lists "a" twice',
    },
    {
      name: 'a zero group interval',
      config: { groupInterval: '0s' },
      path: ['groupInterval'],
      says: '`groupInterval` cannot be zero',
    },
    {
      name: 'a zero repeat interval',
      config: { repeatInterval: '0' },
      path: ['repeatInterval'],
      says: '`repeatInterval` cannot be zero',
    },
    {
      name: 'a duration in words',
      config: { groupWait: '5 minutes' },
      path: ['groupWait'],
      says: 'must be a duration such as 30s',
    },
    {
      name: 'a bad matcher deep in the tree, at its path',
      config: { routes: [{ routes: [{ matchers: ['team="db"', 'job=~"(api"'] }] }] },
      path: ['routes', 0, 'routes', 0, 'matchers', 1],
      says: 'is not a valid regular expression',
    },
    {
      name: 'a bad legacy regex',
      config: { matchRe: { job: '(api' } },
      path: ['matchRe', 'job'],
      says: '`matchRe.job`',
    },
  ])('rejects $name', ({ config, path, says }) => {
    const result = routeSchema.safeParse(config)
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path, message: expect.stringContaining(says) }),
    ])
  })

  it('accepts a zero group wait, as Alertmanager does', () => {
    expect(routeSchema.parse({ groupWait: '0s' })).toEqual({ groupWait: 0 })
  })
})

describe('routeTreeSchema', () => {
  it.each<{ name: string; config: RouteConfig; path: string; says: string }>([
    { name: 'without a receiver', config: {}, path: 'receiver', says: 'default `receiver`' },
    {
      name: 'with matchers',
      config: { receiver: 'r', matchers: ['a="1"'] },
      path: 'matchers',
      says: 'must not have matchers',
    },
    {
      name: 'with legacy match',
      config: { receiver: 'r', match: { a: '1' } },
      path: 'matchers',
      says: 'must not have matchers',
    },
    {
      name: 'with continue',
      config: { receiver: 'r', continue: true },
      path: 'continue',
      says: 'cannot have `continue`',
    },
    {
      name: 'with mute time intervals',
      config: { receiver: 'r', muteTimeIntervals: ['nights'] },
      path: 'muteTimeIntervals',
      says: 'cannot have `muteTimeIntervals`',
    },
    {
      name: 'with active time intervals',
      config: { receiver: 'r', activeTimeIntervals: ['days'] },
      path: 'activeTimeIntervals',
      says: 'cannot have `activeTimeIntervals`',
    },
  ])('refuses a root $name', ({ config, path, says }) => {
    const result = routeTreeSchema.safeParse(config)
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: [path], message: expect.stringContaining(says) }),
    ])
  })
})
