import { describe, expect, it } from 'vitest'
import type { Entity } from './entity.js'
import { buildCatalogGraph, impactOf, neighbourhoodOf } from './graph.js'

function entity(id: string, dependsOn: string[] = [], extra: Partial<Entity> = {}): Entity {
  return { id, kind: 'service', labels: {}, links: [], dependsOn, runbooks: [], ...extra }
}

// web → api → db-main, api → cache → db-main, batch → db-main, db-main → host-db1
const shop = [
  entity('web', ['api'], { kind: 'website' }),
  entity('api', ['db-main', 'cache']),
  entity('cache', ['db-main']),
  entity('batch', ['db-main']),
  entity('db-main', ['host-db1'], { kind: 'database' }),
  entity('host-db1', [], { kind: 'host' }),
]

describe('buildCatalogGraph', () => {
  it('indexes both directions, sorted, for a valid catalog', () => {
    const { graph, issues } = buildCatalogGraph(shop)
    expect(issues).toEqual([])
    expect(graph.dependencies.get('api')).toEqual(['cache', 'db-main'])
    expect(graph.dependents.get('db-main')).toEqual(['api', 'batch', 'cache'])
    expect(graph.dependents.get('web')).toEqual([])
  })

  it.each([
    {
      name: 'an unknown dependsOn is named with the fix',
      entities: [entity('api', ['db-mian']), entity('db-main')],
      messages: [
        'entity api depends on unknown entity db-mian; define db-mian in the catalog or remove it from dependsOn',
      ],
    },
    {
      name: 'a self-dependency is refused',
      entities: [entity('api', ['api'])],
      messages: ['entity api depends on itself; remove api from its dependsOn'],
    },
    {
      name: 'a three-entity cycle names its path once, from its smallest id',
      entities: [entity('c', ['a']), entity('b', ['c']), entity('a', ['b']), entity('d', ['a'])],
      messages: [
        "dependency cycle a → b → c → a; an entity cannot depend on itself through others: remove one of these dependsOn links (for example b from a's dependsOn)",
      ],
    },
    {
      name: 'two separate cycles are both reported',
      entities: [entity('x', ['y']), entity('y', ['x']), entity('p', ['q']), entity('q', ['p'])],
      messages: [
        "dependency cycle p → q → p; an entity cannot depend on itself through others: remove one of these dependsOn links (for example q from p's dependsOn)",
        "dependency cycle x → y → x; an entity cannot depend on itself through others: remove one of these dependsOn links (for example y from x's dependsOn)",
      ],
    },
    {
      name: 'an unknown system and a system of the wrong kind are named',
      entities: [entity('api', [], { system: 'shop' }), entity('web', [], { system: 'api' })],
      messages: [
        'entity api belongs to unknown system shop; define it with kind: system or remove the system field',
        'entity web: system api has kind service; point system at an entity of kind system',
      ],
    },
  ])('$name', ({ entities, messages }) => {
    expect(buildCatalogGraph(entities).issues.map((issue) => issue.message)).toEqual(messages)
  })

  it('still builds a usable graph when a reference is unknown', () => {
    const { graph } = buildCatalogGraph([entity('api', ['ghost', 'db']), entity('db')])
    expect(graph.dependencies.get('api')).toEqual(['db'])
  })
})

describe('impactOf', () => {
  const { graph } = buildCatalogGraph(shop)

  it.each([
    {
      id: 'host-db1',
      impact: [
        { id: 'db-main', depth: 1, path: ['host-db1', 'db-main'] },
        { id: 'api', depth: 2, path: ['host-db1', 'db-main', 'api'] },
        { id: 'batch', depth: 2, path: ['host-db1', 'db-main', 'batch'] },
        { id: 'cache', depth: 2, path: ['host-db1', 'db-main', 'cache'] },
        { id: 'web', depth: 3, path: ['host-db1', 'db-main', 'api', 'web'] },
      ],
    },
    { id: 'web', impact: [] },
    {
      id: 'cache',
      impact: [
        { id: 'api', depth: 1, path: ['cache', 'api'] },
        { id: 'web', depth: 2, path: ['cache', 'api', 'web'] },
      ],
    },
  ])('if $id is down, the affected entities are found nearest first', ({ id, impact }) => {
    expect(impactOf(graph, id)).toEqual(impact)
  })

  it('terminates on a stored cycle', () => {
    const cyclic = buildCatalogGraph([entity('a', ['b']), entity('b', ['a'])]).graph
    expect(impactOf(cyclic, 'a').map((r) => r.id)).toEqual(['b'])
  })
})

describe('neighbourhoodOf', () => {
  const { graph } = buildCatalogGraph(shop)

  it.each([
    { focus: 'api', depth: 1, ids: ['api', 'cache', 'db-main', 'web'] },
    { focus: 'api', depth: 2, ids: ['api', 'cache', 'db-main', 'host-db1', 'web'] },
    { focus: 'db-main', depth: 1, ids: ['api', 'batch', 'cache', 'db-main', 'host-db1'] },
  ])('around $focus to depth $depth holds $ids', ({ focus, depth, ids }) => {
    expect(neighbourhoodOf(graph, focus, depth).ids).toEqual(ids)
  })

  it('keeps the nearest entities when capped, and counts the rest', () => {
    const capped = neighbourhoodOf(graph, 'db-main', 2, 4)
    expect(capped.ids).toEqual(['api', 'batch', 'cache', 'db-main'])
    expect(capped.omitted).toBe(2)
    expect(neighbourhoodOf(graph, 'db-main', 2).omitted).toBe(0)
  })

  it('keeps the links between the entities it holds', () => {
    expect(neighbourhoodOf(graph, 'api', 1).edges).toEqual([
      { from: 'api', to: 'cache' },
      { from: 'api', to: 'db-main' },
      { from: 'cache', to: 'db-main' },
      { from: 'web', to: 'api' },
    ])
  })
})
