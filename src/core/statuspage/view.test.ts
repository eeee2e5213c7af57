import { describe, expect, it } from 'vitest'
import { statusPageConfigSchema, statusPageReferenceIssues } from './config.js'
import {
  buildStatusPageView,
  componentStatus,
  formatUptime,
  overallStatus,
  publicComponentRefs,
  uptimeLevel,
  type ComponentStatus,
  type StatusPageInputs,
  type StatusPageMonitor,
} from './view.js'

const day = 86_400_000
const now = Date.UTC(2026, 11, 6, 12)
const today = Date.UTC(2026, 11, 6)

const monitor = (id: string, state: string, extra: Partial<StatusPageMonitor> = {}) => ({
  id,
  type: 'http',
  state,
  labels: { service: id },
  public: false,
  ...extra,
})

const config = statusPageConfigSchema.parse({
  title: 'Shop status',
  groups: [
    { name: 'Web', components: [{ monitor: 'shop-home', name: 'Website' }, { monitor: 'api' }] },
  ],
})

function inputs(overrides: Partial<StatusPageInputs> = {}): StatusPageInputs {
  return {
    config,
    monitors: [
      monitor('shop-home', 'up'),
      monitor('api', 'degraded', { name: 'Public API' }),
      monitor('db-main', 'down', { name: 'Primary database' }),
    ],
    days: [],
    incidents: [],
    maintenance: [],
    now,
    ...overrides,
  }
}

describe('overallStatus', () => {
  it.each<{ name: string; statuses: ComponentStatus[]; overall: string }>([
    {
      name: 'all up is operational',
      statuses: ['operational', 'operational'],
      overall: 'operational',
    },
    { name: 'nothing known is operational', statuses: ['unknown'], overall: 'operational' },
    {
      name: 'one of four down is a partial outage',
      statuses: ['major_outage', 'operational', 'operational', 'operational'],
      overall: 'partial_outage',
    },
    {
      name: 'half down is a major outage',
      statuses: ['major_outage', 'operational'],
      overall: 'major_outage',
    },
    {
      name: 'degraded wins over maintenance',
      statuses: ['degraded', 'maintenance'],
      overall: 'degraded',
    },
    { name: 'maintenance alone', statuses: ['maintenance', 'operational'], overall: 'maintenance' },
  ])('$name', ({ statuses, overall }) => {
    expect(overallStatus(statuses)).toBe(overall)
  })
})

describe('component status and bars', () => {
  it.each([
    ['up', false, 'operational'],
    ['degraded', false, 'degraded'],
    ['down', false, 'major_outage'],
    ['pending', false, 'unknown'],
    ['paused', false, 'unknown'],
    ['down', true, 'maintenance'],
  ] as const)('a monitor %s (maintenance %s) shows as %s', (state, maintenance, status) => {
    expect(componentStatus(state, maintenance)).toBe(status)
  })

  it.each([
    [undefined, 'none'],
    [1, 'full'],
    [0.999, 'full'],
    [0.995, 'high'],
    [0.96, 'low'],
    [0.5, 'bad'],
  ] as const)('uptime %s colours a bar %s', (uptime, level) => {
    expect(uptimeLevel(uptime)).toBe(level)
  })

  it('never rounds a failure up to 100 %', () => {
    expect(formatUptime(0.99999)).toBe('99.99 %')
    expect(formatUptime(1)).toBe('100.00 %')
    expect(formatUptime(0.29)).toBe('29.00 %')
    expect(formatUptime(0.57)).toBe('57.00 %')
    expect(formatUptime(undefined)).toBe('no data')
  })
})

describe('buildStatusPageView', () => {
  it('shows only the components the config lists, under their public names', () => {
    const view = buildStatusPageView(inputs())
    expect(view.groups).toHaveLength(1)
    expect(view.groups[0]?.components.map((c) => [c.key, c.name, c.status])).toEqual([
      ['website', 'Website', 'operational'],
      ['public-api', 'Public API', 'degraded'],
    ])
    expect(JSON.stringify(view)).not.toContain('db-main')
    expect(JSON.stringify(view)).not.toContain('Primary database')
    expect(view.status).toBe('degraded')
  })

  it('falls back to monitors marked public when the config lists no groups', () => {
    const refs = publicComponentRefs(statusPageConfigSchema.parse({}), [
      { id: 'b', public: true },
      { id: 'a', public: true },
      { id: 'c', public: false },
    ])
    expect(refs).toEqual([
      { group: 'Services', monitor: 'a' },
      { group: 'Services', monitor: 'b' },
    ])
  })

  it('draws 90 daily bars ending today from day counts, and a weighted uptime', () => {
    const view = buildStatusPageView(
      inputs({
        days: [
          { monitor: 'shop-home', day: today, count: 100, failures: 1 },
          { monitor: 'shop-home', day: today - day, count: 300, failures: 0 },
          { monitor: 'shop-home', day: today - day, count: 100, failures: 0 },
          { monitor: 'shop-home', day: today - 90 * day, count: 10, failures: 10 },
        ],
      }),
    )
    const bars = view.groups[0]?.components[0]?.days ?? []
    expect(bars).toHaveLength(90)
    expect(bars[0]?.date).toBe('2026-09-08')
    expect(bars.at(-1)).toEqual({ date: '2026-12-06', uptime: 0.99 })
    expect(bars.at(-2)).toEqual({ date: '2026-12-05', uptime: 1 })
    expect(bars.at(-3)).toEqual({ date: '2026-12-04' })
    expect(view.groups[0]?.components[0]?.uptime).toBe(499 / 500)
  })

  it('shows incidents of public monitors with component titles and status changes only', () => {
    const view = buildStatusPageView(
      inputs({
        incidents: [
          {
            id: 7,
            severity: 'critical',
            status: 'acknowledged',
            createdAt: now - 3_600_000,
            monitors: ['shop-home'],
            changes: [
              { at: now - 3_600_000, kind: 'opened' },
              { at: now - 1_800_000, kind: 'acknowledged' },
            ],
          },
          {
            id: 6,
            severity: 'warning',
            status: 'resolved',
            createdAt: now - 2 * day,
            resolvedAt: now - 2 * day + 600_000,
            monitors: ['api'],
            changes: [],
          },
          {
            id: 5,
            severity: 'warning',
            status: 'resolved',
            createdAt: now - 30 * day,
            resolvedAt: now - 30 * day,
            monitors: ['api'],
            changes: [],
          },
        ],
      }),
    )
    expect(view.activeIncidents).toEqual([
      {
        id: 7,
        title: 'Outage: Website',
        status: 'identified',
        impact: 'major',
        components: ['Website'],
        startedAt: now - 3_600_000,
        updates: [
          {
            at: now - 1_800_000,
            status: 'identified',
            text: 'The problem has been identified and is being worked on.',
          },
          { at: now - 3_600_000, status: 'investigating', text: 'We are investigating a problem.' },
        ],
      },
    ])
    expect(view.pastIncidents.map((i) => [i.id, i.title])).toEqual([
      [6, 'Degraded performance: Public API'],
    ])
  })

  it('shows the notes responders published, under the status of their moment', () => {
    const view = buildStatusPageView(
      inputs({
        incidents: [
          {
            id: 8,
            severity: 'critical',
            status: 'acknowledged',
            createdAt: now - 3_600_000,
            monitors: ['shop-home'],
            changes: [
              { at: now - 3_600_000, kind: 'opened' },
              { at: now - 3_000_000, kind: 'publicUpdate', text: 'Checkout fails for some cards.' },
              { at: now - 1_800_000, kind: 'acknowledged' },
              { at: now - 600_000, kind: 'publicUpdate', text: 'A fix is rolling out.' },
              // A kind the public never sees, even when it carries text.
              { at: now - 300_000, kind: 'note', text: 'db-7 was out of disk' },
            ],
          },
        ],
      }),
    )
    expect(view.activeIncidents[0]?.updates).toEqual([
      { at: now - 600_000, status: 'identified', text: 'A fix is rolling out.' },
      {
        at: now - 1_800_000,
        status: 'identified',
        text: 'The problem has been identified and is being worked on.',
      },
      { at: now - 3_000_000, status: 'investigating', text: 'Checkout fails for some cards.' },
      { at: now - 3_600_000, status: 'investigating', text: 'We are investigating a problem.' },
    ])
  })

  it('shows public maintenance covering a public component, and marks it under maintenance', () => {
    const view = buildStatusPageView(
      inputs({
        maintenance: [
          {
            id: 'db-upgrade',
            title: 'Website upgrade',
            description: 'Expect short interruptions.',
            public: true,
            timeZone: 'UTC',
            matchers: [{ name: 'service', operator: '=', value: 'shop-home' }],
            oneOff: { start: now - 600_000, end: now + 3_600_000 },
          },
          {
            id: 'private',
            title: 'Internal only',
            public: false,
            timeZone: 'UTC',
            matchers: [{ name: 'service', operator: '=', value: 'shop-home' }],
            oneOff: { start: now - 600_000, end: now + 3_600_000 },
          },
          {
            id: 'other',
            title: 'Database failover',
            public: true,
            timeZone: 'UTC',
            matchers: [{ name: 'service', operator: '=', value: 'db-main' }],
            oneOff: { start: now + day, end: now + day + 3_600_000 },
          },
        ],
      }),
    )
    expect(view.maintenance).toEqual([
      {
        id: 'db-upgrade',
        title: 'Website upgrade',
        description: 'Expect short interruptions.',
        state: 'active',
        startsAt: now - 600_000,
        endsAt: now + 3_600_000,
        components: ['Website'],
      },
    ])
    expect(view.groups[0]?.components[0]?.status).toBe('maintenance')
  })
})

describe('statusPageReferenceIssues', () => {
  it('names unknown and repeated monitors with their paths', () => {
    const section = {
      groups: [
        {
          name: 'Web',
          components: [{ monitor: 'shop' }, { monitor: 'nope' }, { monitor: 'shop' }],
        },
      ],
    }
    expect(statusPageReferenceIssues(section, ['shop'])).toEqual([
      {
        path: ['statusPage', 'groups', 0, 'components', 1, 'monitor'],
        message: 'unknown monitor `nope`; a component must name a monitor defined under `monitors`',
      },
      {
        path: ['statusPage', 'groups', 0, 'components', 2, 'monitor'],
        message: 'monitor `shop` is listed twice; list each monitor once',
      },
    ])
  })
})
