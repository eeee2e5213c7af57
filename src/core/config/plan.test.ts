import { describe, expect, it } from 'vitest'
import { diffValues, formatPlan, formatPlanSummary, planChanges, planHasChanges } from './index.js'
import { formatPath } from './path.js'

const http = { type: 'http', url: 'https://example.org', interval: 60_000 }
const tcp = { type: 'tcp', host: 'db', port: 5432, interval: 60_000 }

describe('diffValues', () => {
  it.each([
    { name: 'equal scalars have no changes', before: 1, after: 1, changes: [] },
    {
      name: 'object key order does not matter',
      before: { a: 1, b: { c: 2, d: 3 } },
      after: { b: { d: 3, c: 2 }, a: 1 },
      changes: [],
    },
    {
      name: 'a changed leaf is reported at its full path',
      before: { http: { headers: { accept: 'a' } } },
      after: { http: { headers: { accept: 'b' } } },
      changes: [{ path: 'http.headers.accept', before: 'a', after: 'b' }],
    },
    {
      name: 'an added key is a change from undefined',
      before: { a: 1 },
      after: { a: 1, b: 2 },
      changes: [{ path: 'b', before: undefined, after: 2 }],
    },
    {
      name: 'a key holding undefined equals a missing key',
      before: { a: 1, b: undefined },
      after: { a: 1 },
      changes: [],
    },
    {
      name: 'arrays are compared by index',
      before: { list: ['a', 'b'] },
      after: { list: ['b', 'a', 'c'] },
      changes: [
        { path: 'list[0]', before: 'a', after: 'b' },
        { path: 'list[1]', before: 'b', after: 'a' },
        { path: 'list[2]', before: undefined, after: 'c' },
      ],
    },
    {
      name: 'a change of shape is one change at that path',
      before: { x: { a: 1 } },
      after: { x: [1] },
      changes: [{ path: 'x', before: { a: 1 }, after: [1] }],
    },
    {
      name: 'keys with dots are quoted in the path',
      before: { labels: { 'team.name': 'a' } },
      after: { labels: { 'team.name': 'b' } },
      changes: [{ path: 'labels["team.name"]', before: 'a', after: 'b' }],
    },
    {
      name: 'changed keys are listed in name order',
      before: { z: 1, a: 1 },
      after: { z: 2, a: 2 },
      changes: [
        { path: 'a', before: 1, after: 2 },
        { path: 'z', before: 1, after: 2 },
      ],
    },
  ])('$name', ({ before, after, changes }) => {
    expect(diffValues(before, after)).toEqual(changes)
  })
})

describe('planChanges', () => {
  it.each([
    {
      name: 'an id only in the desired set is created',
      current: {},
      desired: { web: http },
      prune: false,
      expected: {
        create: [{ id: 'web', value: http }],
        update: [],
        delete: [],
        unchanged: [],
        unmanaged: [],
      },
    },
    {
      name: 'an id in both sets with equal values is unchanged',
      current: { web: http },
      desired: { web: { ...http } },
      prune: false,
      expected: { create: [], update: [], delete: [], unchanged: ['web'], unmanaged: [] },
    },
    {
      name: 'an id whose value differs is updated with the fields that differ',
      current: { db: tcp },
      desired: { db: { ...tcp, interval: 30_000 } },
      prune: false,
      expected: {
        create: [],
        update: [
          {
            id: 'db',
            before: tcp,
            after: { ...tcp, interval: 30_000 },
            fields: [{ path: 'interval', before: 60_000, after: 30_000 }],
          },
        ],
        delete: [],
        unchanged: [],
        unmanaged: [],
      },
    },
    {
      name: 'an id missing from the desired set is kept as unmanaged without prune',
      current: { old: tcp },
      desired: {},
      prune: false,
      expected: { create: [], update: [], delete: [], unchanged: [], unmanaged: ['old'] },
    },
    {
      name: 'an id missing from the desired set is deleted with prune',
      current: { old: tcp },
      desired: {},
      prune: true,
      expected: {
        create: [],
        update: [],
        delete: [{ id: 'old', value: tcp }],
        unchanged: [],
        unmanaged: [],
      },
    },
  ])('$name', ({ current, desired, prune, expected }) => {
    expect(planChanges<unknown>(current, desired, { prune })).toEqual(expected)
  })

  it.each([
    { name: 'an empty plan has no changes', desired: { web: http }, prune: false, changes: false },
    { name: 'an unmanaged object is not a change', desired: {}, prune: false, changes: false },
    { name: 'a pruned object is a change', desired: {}, prune: true, changes: true },
    {
      name: 'a new object is a change',
      desired: { web: http, db: tcp },
      prune: false,
      changes: true,
    },
  ])('$name', ({ desired, prune, changes }) => {
    expect(planHasChanges(planChanges<unknown>({ web: http }, desired, { prune }))).toBe(changes)
  })

  it('lists every group in id order whatever the input order', () => {
    const plan = planChanges<unknown>(
      { c: 1, a: 1, e: 1, d: 1 },
      { z: 1, b: 1, e: 2, c: 2 },
      {
        prune: true,
      },
    )
    expect(plan.create.map((c) => c.id)).toEqual(['b', 'z'])
    expect(plan.update.map((c) => c.id)).toEqual(['c', 'e'])
    expect(plan.delete.map((c) => c.id)).toEqual(['a', 'd'])
  })
})

describe('formatPlan', () => {
  it.each([
    {
      name: 'a created monitor shows its type',
      current: {},
      desired: { 'web-home': http },
      prune: false,
      lines: ['+ monitor web-home (http)', 'Plan: 1 to add, 0 to change, 0 to destroy.'],
    },
    {
      name: 'a changed field shows before and after',
      current: { 'db-main': tcp },
      desired: { 'db-main': { ...tcp, interval: 30_000 } },
      prune: false,
      lines: [
        '~ monitor db-main: interval 60000 → 30000',
        'Plan: 0 to add, 1 to change, 0 to destroy.',
      ],
    },
    {
      name: 'each changed field gets its own line, strings quoted, removed fields as (none)',
      current: { web: { ...http, name: 'Home' } },
      desired: { web: { ...http, url: 'https://example.com' } },
      prune: false,
      lines: [
        '~ monitor web: name "Home" → (none)',
        '~ monitor web: url "https://example.org" → "https://example.com"',
        'Plan: 0 to add, 1 to change, 0 to destroy.',
      ],
    },
    {
      name: 'a pruned monitor is destroyed',
      current: { 'old-one': tcp },
      desired: {},
      prune: true,
      lines: ['- monitor old-one', 'Plan: 0 to add, 0 to change, 1 to destroy.'],
    },
    {
      name: 'an unmanaged monitor is mentioned but not destroyed',
      current: { manual: tcp },
      desired: {},
      prune: false,
      lines: [
        '  monitor manual: not in the config, kept (prune to delete it)',
        'Plan: 0 to add, 0 to change, 0 to destroy.',
      ],
    },
    {
      name: 'nothing to do prints only the summary',
      current: { web: http },
      desired: { web: http },
      prune: false,
      lines: ['Plan: 0 to add, 0 to change, 0 to destroy.'],
    },
  ])('$name', ({ current, desired, prune, lines }) => {
    expect(formatPlan(planChanges<unknown>(current, desired, { prune }), 'monitor')).toEqual(lines)
  })

  it.each([
    {
      name: 'a secret field prints redacted',
      path: 'secret',
      line: '~ channel ops: secret <redacted> → <redacted>',
    },
    {
      name: 'a field that is not secret prints its values',
      path: 'other',
      line: '~ channel ops: secret "a" → "b"',
    },
  ])('$name', ({ path, line }) => {
    const plan = planChanges<unknown>({ ops: { secret: 'a' } }, { ops: { secret: 'b' } })
    const lines = formatPlan(plan, 'channel', {
      summary: false,
      isSecret: (id, field) => id === 'ops' && field === path,
    })
    expect(lines).toEqual([line])
  })

  it.each([
    {
      name: 'a long value is cut with an ellipsis',
      value: 'x'.repeat(100),
      shown: `"${'x'.repeat(58)}…`,
    },
    { name: 'an array value is shown as JSON', value: ['a', 'b'], shown: '["a","b"]' },
  ])('$name', ({ value, shown }) => {
    const plan = planChanges<unknown>({ a: { v: null } }, { a: { v: value } })
    const [line] = formatPlan(plan, 'monitor', { summary: false })
    expect(line).toBe(`~ monitor a: v null → ${shown}`)
  })

  it('sums several plans in one summary line', () => {
    const monitors = planChanges<unknown>({}, { a: 1, b: 1 })
    const channels = planChanges<unknown>({ c: 1, d: 1 }, { c: 2 }, { prune: true })
    expect(formatPlanSummary([monitors, channels])).toBe(
      'Plan: 2 to add, 1 to change, 1 to destroy.',
    )
  })
})

describe('formatPath', () => {
  it.each([
    {
      name: 'keys join with dots',
      segments: ['monitors', 'web-home', 'interval'],
      text: 'monitors.web-home.interval',
    },
    {
      name: 'indexes use brackets',
      segments: ['defaults', 'channels', 0],
      text: 'defaults.channels[0]',
    },
    {
      name: 'keys with dots are quoted',
      segments: ['monitors', 'db.main'],
      text: 'monitors["db.main"]',
    },
    { name: 'an empty path is empty', segments: [], text: '' },
  ])('$name', ({ segments, text }) => {
    expect(formatPath(segments)).toBe(text)
  })
})
