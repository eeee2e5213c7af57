import { describe, expect, it } from 'vitest'
import { catalogHealth, entityHealthOf, entityOfLabels, type MonitorStateName } from './health.js'

describe('entityHealthOf', () => {
  it.each([
    { states: [], health: 'unknown' },
    { states: ['pending'], health: 'unknown' },
    { states: ['up', 'up'], health: 'up' },
    { states: ['up', 'pending'], health: 'up' },
    { states: ['up', 'degraded'], health: 'degraded' },
    { states: ['degraded', 'down', 'up'], health: 'down' },
    { states: ['paused', 'paused'], health: 'maintenance' },
    { states: ['paused', 'up'], health: 'up' },
    { states: ['paused', 'down'], health: 'down' },
  ] as { states: MonitorStateName[]; health: string }[])(
    'monitors $states make the entity $health',
    ({ states, health }) => {
      expect(entityHealthOf(states)).toBe(health)
    },
  )
})

describe('entityOfLabels', () => {
  it.each([
    { labels: { entity: 'db-main', service: 'payments' }, id: 'db-main' },
    { labels: { service: 'payments' }, id: 'payments' },
    { labels: { entity: '' }, id: undefined },
    { labels: { team: 'dba' }, id: undefined },
  ] as { labels: Record<string, string>; id: string | undefined }[])(
    'reads $labels as $id',
    ({ labels, id }) => {
      expect(entityOfLabels(labels)).toBe(id)
    },
  )
})

describe('catalogHealth', () => {
  it('rolls monitors up to the entity their labels name and leaves others unknown', () => {
    const health = catalogHealth(
      ['db-main', 'api', 'web'],
      [
        { labels: { entity: 'db-main' }, state: 'down' },
        { labels: { service: 'db-main' }, state: 'up' },
        { labels: { service: 'api' }, state: 'degraded' },
        { labels: { service: 'not-in-catalog' }, state: 'down' },
      ],
    )
    expect(Object.fromEntries(health)).toEqual({
      'db-main': 'down',
      api: 'degraded',
      web: 'unknown',
    })
  })
})
