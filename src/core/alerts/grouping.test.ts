import { describe, expect, it } from 'vitest'
import type { Instant } from '../time.js'
import type { Labels } from './fingerprint.js'
import {
  groupKey,
  groupLabels,
  openGroup,
  planGroupNotification,
  recordGroupFlush,
  upsertGroupAlert,
  type GroupAlert,
  type GroupState,
  type GroupTiming,
} from './grouping.js'

const second = 1_000
const minute = 60 * second
const hour = 60 * minute
const timing: GroupTiming = {
  groupWait: 30 * second,
  groupInterval: 5 * minute,
  repeatInterval: 4 * hour,
}
const t0: Instant = Date.UTC(2026, 2, 2, 9, 0, 0)

/** `1h05m30s` after t0 as `01:05:30`. */
function clock(at: Instant): string {
  const s = Math.round((at - t0) / 1000)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`
}

type Event =
  | { at: number; fire: string; startedAgo?: number; muted?: boolean }
  | { at: number; resolve: string }

/**
 * Drives a group as the engine would: alerts arrive and resolve at their times, and the group
 * flushes whenever its timer is due. Returns the notifications sent, one line each.
 */
function run(events: Event[], until: number, sendResolved = true): string[] {
  let group: GroupState | undefined
  const sent: string[] = []
  const pending = [...events].sort((a, b) => a.at - b.at)
  for (let guard = 0; guard < 1000; guard++) {
    const nextEvent = pending[0]
    const eventAt = nextEvent ? t0 + nextEvent.at : Number.POSITIVE_INFINITY
    const flushAt = group ? group.flushAt : Number.POSITIVE_INFINITY
    const at = Math.min(eventAt, flushAt)
    if (at > t0 + until) break
    if (nextEvent && eventAt <= flushAt) {
      pending.shift()
      if ('fire' in nextEvent) {
        const alert: GroupAlert = {
          fingerprint: nextEvent.fire,
          startsAt: at - (nextEvent.startedAgo ?? 0),
          ...(nextEvent.muted ? { muted: true } : {}),
        }
        group = group ? upsertGroupAlert(group, alert) : openGroup(timing, alert, at, sendResolved)
      } else if (group) {
        const alert = group.alerts.find((a) => a.fingerprint === nextEvent.resolve)
        if (alert) group = upsertGroupAlert(group, { ...alert, endsAt: at })
      }
      continue
    }
    if (!group) break
    const plan = planGroupNotification(group, at)
    if (plan.notification) {
      const { reason, firing, resolved } = plan.notification
      sent.push(`${clock(at)} ${reason} firing=${firing.join(',')} resolved=${resolved.join(',')}`)
    }
    group = recordGroupFlush(group, at)
  }
  return sent
}

describe('an aggregation group over time', () => {
  it.each<{ name: string; events: Event[]; until: number; sendResolved?: boolean; sent: string[] }>(
    [
      {
        name: 'a new group waits group_wait, then notifies once',
        events: [{ at: 0, fire: 'a' }],
        until: hour,
        sent: ['00:00:30 first firing=a resolved='],
      },
      {
        name: 'alerts arriving during group_wait join the first notification',
        events: [
          { at: 0, fire: 'a' },
          { at: 10 * second, fire: 'b' },
        ],
        until: hour,
        sent: ['00:00:30 first firing=a,b resolved='],
      },
      {
        name: 'an alert joining later waits for the next group_interval flush',
        events: [
          { at: 0, fire: 'a' },
          { at: minute, fire: 'b' },
          { at: 2 * minute, fire: 'c' },
        ],
        until: hour,
        sent: ['00:00:30 first firing=a resolved=', '00:05:30 new-firing firing=a,b,c resolved='],
      },
      {
        name: 'an unchanged firing group repeats on the first flush past repeat_interval',
        events: [{ at: 0, fire: 'a' }],
        until: 9 * hour,
        sent: [
          '00:00:30 first firing=a resolved=',
          '04:05:30 repeat firing=a resolved=',
          '08:10:30 repeat firing=a resolved=',
        ],
      },
      {
        name: 'a group that resolves is told so at the next flush, then closes',
        events: [
          { at: 0, fire: 'a' },
          { at: 2 * minute, resolve: 'a' },
          { at: 20 * minute, fire: 'a' },
        ],
        until: hour,
        sent: [
          '00:00:30 first firing=a resolved=',
          '00:05:30 all-resolved firing= resolved=a',
          '00:20:30 first firing=a resolved=',
        ],
      },
      {
        name: 'without send_resolved a resolving group sends nothing',
        events: [
          { at: 0, fire: 'a' },
          { at: 2 * minute, resolve: 'a' },
        ],
        until: hour,
        sendResolved: false,
        sent: ['00:00:30 first firing=a resolved='],
      },
      {
        name: 'an alert that fires and resolves within group_wait is never reported',
        events: [
          { at: 0, fire: 'a' },
          { at: 10 * second, resolve: 'a' },
        ],
        until: hour,
        sent: [],
      },
      {
        name: 'an alert older than group_wait is sent at once',
        events: [{ at: 0, fire: 'a', startedAgo: hour }],
        until: 10 * minute,
        sent: ['00:00:00 first firing=a resolved='],
      },
      {
        name: 'an alert that started less than group_wait ago still waits the full group_wait',
        events: [{ at: 0, fire: 'a', startedAgo: 20 * second }],
        until: 10 * minute,
        sent: ['00:00:30 first firing=a resolved='],
      },
      {
        name: 'one alert resolving while another fires is sent with send_resolved',
        events: [
          { at: 0, fire: 'a' },
          { at: 0, fire: 'b' },
          { at: minute, resolve: 'b' },
        ],
        until: hour,
        sent: ['00:00:30 first firing=a,b resolved=', '00:05:30 resolved firing=a resolved=b'],
      },
      {
        name: 'without send_resolved a partial resolution waits for the repeat',
        events: [
          { at: 0, fire: 'a' },
          { at: 0, fire: 'b' },
          { at: minute, resolve: 'b' },
        ],
        until: 5 * hour,
        sendResolved: false,
        sent: ['00:00:30 first firing=a,b resolved=', '04:05:30 repeat firing=a resolved='],
      },
      {
        name: 'an alert that fires again after being reported resolved is new again',
        events: [
          { at: 0, fire: 'a' },
          { at: 0, fire: 'b' },
          { at: minute, resolve: 'b' },
          { at: 7 * minute, fire: 'b' },
        ],
        until: hour,
        sent: [
          '00:00:30 first firing=a,b resolved=',
          '00:05:30 resolved firing=a resolved=b',
          '00:10:30 new-firing firing=a,b resolved=',
        ],
      },
      {
        name: 'a muted alert is left out, and one unmuted later counts as new',
        events: [
          { at: 0, fire: 'a' },
          { at: 0, fire: 'b', muted: true },
          { at: 3 * minute, fire: 'b' },
        ],
        until: hour,
        sent: ['00:00:30 first firing=a resolved=', '00:05:30 new-firing firing=a,b resolved='],
      },
      {
        name: 'a group of only muted alerts stays silent',
        events: [{ at: 0, fire: 'a', muted: true }],
        until: 5 * hour,
        sent: [],
      },
    ],
  )('$name', ({ events, until, sendResolved, sent }) => {
    expect(run(events, until, sendResolved)).toEqual(sent)
  })
})

describe('planGroupNotification', () => {
  const fresh = openGroup(timing, { fingerprint: 'a', startsAt: t0 }, t0)
  const notified = recordGroupFlush(fresh, t0 + 30 * second) as GroupState

  it.each<{
    name: string
    group: GroupState
    now: Instant
    muted?: boolean
    expected: ReturnType<typeof planGroupNotification>
  }>([
    {
      name: 'a new group is not due yet and will notify after group_wait',
      group: fresh,
      now: t0 + 5 * second,
      expected: { flushAt: t0 + 30 * second, due: false, notifyAt: t0 + 30 * second },
    },
    {
      name: 'a new group at group_wait sends its first notification now',
      group: fresh,
      now: t0 + 30 * second,
      expected: {
        flushAt: t0 + 30 * second,
        due: true,
        notification: { reason: 'first', firing: ['a'], resolved: [] },
        notifyAt: t0 + 30 * second,
      },
    },
    {
      name: 'a notified, unchanged group will repeat on the first flush past repeat_interval',
      group: notified,
      now: t0 + minute,
      expected: {
        flushAt: t0 + 5 * minute + 30 * second,
        due: false,
        notifyAt: t0 + 4 * hour + 5 * minute + 30 * second,
      },
    },
    {
      name: 'an alert due to end is announced at the first flush after it ends',
      group: upsertGroupAlert(notified, {
        fingerprint: 'a',
        startsAt: t0,
        endsAt: t0 + 12 * minute,
      }),
      now: t0 + minute,
      expected: {
        flushAt: t0 + 5 * minute + 30 * second,
        due: false,
        notifyAt: t0 + 15 * minute + 30 * second,
      },
    },
    {
      name: 'a flush due while the route is muted sends nothing and looks to the next flush',
      group: fresh,
      now: t0 + 30 * second,
      muted: true,
      expected: { flushAt: t0 + 30 * second, due: true, notifyAt: t0 + 5 * minute + 30 * second },
    },
    {
      name: 'a flush that comes late still sends what was due',
      group: fresh,
      now: t0 + 10 * minute,
      expected: {
        flushAt: t0 + 30 * second,
        due: true,
        notification: { reason: 'first', firing: ['a'], resolved: [] },
        notifyAt: t0 + 10 * minute,
      },
    },
  ])('$name', ({ group, now, muted, expected }) => {
    expect(planGroupNotification(group, now, { muted: muted ?? false })).toEqual(expected)
  })
})

describe('recordGroupFlush', () => {
  const group = openGroup(timing, { fingerprint: 'a', startsAt: t0 }, t0)

  it('leaves a group that is not due unchanged', () => {
    expect(recordGroupFlush(group, t0 + 10 * second)).toBe(group)
  })

  it('logs the notification and sets the timer one group_interval ahead', () => {
    expect(recordGroupFlush(group, t0 + 30 * second)).toEqual({
      ...group,
      flushAt: t0 + 30 * second + 5 * minute,
      lastNotification: { at: t0 + 30 * second, firing: ['a'], resolved: [] },
    })
  })

  it('does not log a flush muted by a time interval, so the alerts stay new', () => {
    const after = recordGroupFlush(group, t0 + 30 * second, { muted: true })
    expect(after?.lastNotification).toBeUndefined()
    expect(
      planGroupNotification(after as GroupState, t0 + 30 * second + 5 * minute).notification
        ?.reason,
    ).toBe('first')
  })

  it('closes a group once every alert in it has resolved', () => {
    const resolved = upsertGroupAlert(group, {
      fingerprint: 'a',
      startsAt: t0,
      endsAt: t0 + second,
    })
    expect(recordGroupFlush(resolved, t0 + 30 * second)).toBeUndefined()
  })
})

describe('groupKey', () => {
  const route = { id: '{}/{team="db"}/0', groupBy: ['alertname', 'service'], groupByAll: false }

  it.each<{ name: string; route: typeof route; labels: Labels; key: string }>([
    {
      name: 'the group-by labels, sorted, after the route id',
      route,
      labels: { team: 'db', service: 'db-main', alertname: 'DiskFull', instance: 'h1' },
      key: '{}/{team="db"}/0:{alertname="DiskFull", service="db-main"}',
    },
    {
      name: 'a group-by label the alert lacks is left out',
      route,
      labels: { alertname: 'DiskFull' },
      key: '{}/{team="db"}/0:{alertname="DiskFull"}',
    },
    {
      name: 'an empty label value is left out like a missing one',
      route,
      labels: { alertname: 'DiskFull', service: '' },
      key: '{}/{team="db"}/0:{alertname="DiskFull"}',
    },
    {
      name: "'...' groups by every label",
      route: { ...route, groupBy: [], groupByAll: true },
      labels: { b: '2', a: '1' },
      key: '{}/{team="db"}/0:{a="1", b="2"}',
    },
    {
      name: 'no group-by labels put every alert of the route in one group',
      route: { ...route, groupBy: [] },
      labels: { a: '1' },
      key: '{}/{team="db"}/0:{}',
    },
    {
      name: 'values are quoted as Go quotes them, so a comma cannot forge another key',
      route,
      labels: { alertname: 'a", service="x' },
      key: '{}/{team="db"}/0:{alertname="a\\", service=\\"x"}',
    },
  ])('is $name', ({ route, labels, key }) => {
    expect(groupKey(route, labels)).toBe(key)
  })

  it('picks the group labels the key is made of', () => {
    expect(groupLabels(route, { alertname: 'x', service: 'db', other: 'y' })).toEqual({
      alertname: 'x',
      service: 'db',
    })
  })
})
