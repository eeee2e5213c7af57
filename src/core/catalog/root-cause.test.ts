import { describe, expect, it } from 'vitest'
import type { Entity } from './entity.js'
import { buildCatalogGraph } from './graph.js'
import { groupByRootCause, probableRootCause } from './root-cause.js'

function entity(id: string, dependsOn: string[] = []): Entity {
  return { id, kind: 'service', labels: {}, links: [], dependsOn, runbooks: [] }
}

// Five services on one database; the database on a host; checkout also needs payments.
const { graph } = buildCatalogGraph([
  entity('host-db1'),
  entity('db-main', ['host-db1']),
  entity('cache', ['db-main']),
  entity('accounts', ['db-main']),
  entity('orders', ['db-main']),
  entity('payments', ['db-main']),
  entity('search', ['cache']),
  entity('checkout', ['orders', 'payments']),
  entity('mailer'),
])

describe('probableRootCause', () => {
  it.each([
    {
      name: 'a service on a down database points at the database',
      alert: 'orders',
      down: ['db-main', 'orders'],
      cause: { rootEntity: 'db-main', path: ['orders', 'db-main'] },
    },
    {
      name: 'the most upstream down entity wins over a nearer one',
      alert: 'orders',
      down: ['host-db1', 'db-main', 'orders'],
      cause: { rootEntity: 'host-db1', path: ['orders', 'db-main', 'host-db1'] },
    },
    {
      name: 'the path may cross an entity that is not down',
      alert: 'search',
      down: ['db-main'],
      cause: { rootEntity: 'db-main', path: ['search', 'cache', 'db-main'] },
    },
    {
      name: 'two down parents with a shared down root resolve to that root',
      alert: 'checkout',
      down: ['orders', 'payments', 'db-main'],
      cause: { rootEntity: 'db-main', path: ['checkout', 'orders', 'db-main'] },
    },
    {
      name: 'two independent down roots pick the smallest id at the same depth',
      alert: 'checkout',
      down: ['orders', 'payments'],
      cause: { rootEntity: 'orders', path: ['checkout', 'orders'] },
    },
    {
      name: 'the down entity itself has no root cause above it',
      alert: 'db-main',
      down: ['db-main'],
      cause: undefined,
    },
    {
      name: 'a dependent that is down while its dependencies are up is its own root',
      alert: 'orders',
      down: ['orders', 'accounts'],
      cause: undefined,
    },
    {
      name: 'an entity with no dependencies is its own root',
      alert: 'mailer',
      down: ['db-main', 'mailer'],
      cause: undefined,
    },
    {
      name: 'an id not in the catalog has no root cause',
      alert: 'ghost',
      down: ['db-main'],
      cause: undefined,
    },
  ])('$name', ({ alert, down, cause }) => {
    expect(probableRootCause(graph, alert, new Set(down))).toEqual(cause)
  })

  it('guesses the furthest entity of a down cycle rather than nothing', () => {
    const cyclic = buildCatalogGraph([entity('a', ['b']), entity('b', ['c']), entity('c', ['b'])])
    expect(probableRootCause(cyclic.graph, 'a', new Set(['b', 'c']))).toEqual({
      rootEntity: 'c',
      path: ['a', 'b', 'c'],
    })
  })
})

describe('groupByRootCause', () => {
  it('db down and five dependent services alerting make one page, about the database', () => {
    const alerts = ['db-main', 'accounts', 'orders', 'payments', 'search', 'checkout'].map(
      (id) => ({ fingerprint: `fp-${id}`, entity: id }),
    )
    const down = new Set(alerts.map((alert) => alert.entity))
    const groups = groupByRootCause(graph, alerts, down)
    expect(groups).toHaveLength(1)
    expect(groups[0]?.rootEntity).toBe('db-main')
    expect(groups[0]?.alerts.map((a) => [a.alert.fingerprint, a.path.join(' → ')])).toEqual([
      ['fp-db-main', 'db-main'],
      ['fp-accounts', 'accounts → db-main'],
      ['fp-orders', 'orders → db-main'],
      ['fp-payments', 'payments → db-main'],
      ['fp-search', 'search → cache → db-main'],
      ['fp-checkout', 'checkout → orders → db-main'],
    ])
  })

  it('dependents that alert before their database still join its page, in arrival order', () => {
    const alerts = [{ entity: 'orders' }, { entity: 'payments' }, { entity: 'db-main' }]
    const groups = groupByRootCause(graph, alerts, new Set(['db-main']))
    expect(groups.map((g) => [g.rootEntity, g.alerts.length])).toEqual([['db-main', 3]])
  })

  it('unrelated alerts and alerts naming no entity page on their own', () => {
    const alerts = [
      { entity: 'orders' },
      { entity: 'mailer' },
      { name: 'no entity' },
      { entity: 'not-in-catalog' },
      { entity: 'payments' },
    ]
    const groups = groupByRootCause(graph, alerts, new Set(['db-main', 'mailer']))
    expect(groups.map((g) => [g.rootEntity, g.alerts.length])).toEqual([
      ['db-main', 2],
      ['mailer', 1],
      [undefined, 1],
      ['not-in-catalog', 1],
    ])
  })

  it('without a down dependency every service pages for itself', () => {
    const alerts = [{ entity: 'orders' }, { entity: 'payments' }]
    expect(groupByRootCause(graph, alerts, new Set(['orders', 'payments']))).toHaveLength(2)
  })
})
