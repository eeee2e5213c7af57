import type { IANAZone } from 'luxon'
import type { Instant } from '../time.js'
import type { Layer, Restriction, Weekday } from './schedule-schema.js'
import {
  dayMs,
  dayNumber,
  hourMs,
  instantAtWallClock,
  parseClockTime,
  parseLocalDateTime,
  wallClockAt,
  weekdayOf,
} from './wall-clock.js'

/** A user on call in one layer for a half-open range `[start, end)`. */
export interface LayerShift {
  user: string
  start: Instant
  end: Instant
}

/** A half-open range of real time, `[start, end)`. */
export interface TimeRange {
  start: Instant
  end: Instant
}

/** The instant of a layer's k-th hand-off (k ≥ 0); hand-off 0 is the layer's start. */
export type HandoffClock = (k: number) => Instant

/**
 * The hand-offs of a layer: day and week rotations on local calendar days at the hand-off time
 * (so a daily shift lasts 23 or 25 hours across DST), hour rotations every N elapsed hours.
 */
export function layerHandoffs(layer: Layer, zone: IANAZone): HandoffClock {
  const startWall = parseLocalDateTime(layer.start) ?? 0
  const start = instantAtWallClock(zone, startWall)
  const { every, unit } = layer.rotation
  if (unit === 'hour') return (k) => start + k * every * hourMs
  const stepDays = every * (unit === 'week' ? 7 : 1)
  const startDay = dayNumber(startWall)
  // Without a hand-off time, later hand-offs keep the start's time of day.
  const timeOfDay =
    layer.handoffTime === undefined
      ? startWall - startDay * dayMs
      : (parseClockTime(layer.handoffTime) ?? 0)
  return (k) =>
    k === 0 ? start : instantAtWallClock(zone, (startDay + k * stepDays) * dayMs + timeOfDay)
}

/** The number of the rotation shift that covers `at`, or -1 before the layer starts. */
function shiftIndexAt(layer: Layer, handoff: HandoffClock, at: Instant): number {
  const start = handoff(0)
  if (at < start) return -1
  const nominal =
    layer.rotation.every * hourMs * { hour: 1, day: 24, week: 168 }[layer.rotation.unit]
  // DST moves a calendar hand-off by at most a few hours, so the estimate is off by one at most.
  let k = Math.max(0, Math.floor((at - start) / nominal))
  while (k > 0 && handoff(k) > at) k--
  while (handoff(k + 1) <= at) k++
  return k
}

const weekdayIndex: Record<Weekday, number> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
}

/** The union of restriction windows overlapping `[from, to)`, sorted and disjoint. */
export function restrictionWindows(
  restrictions: readonly Restriction[],
  zone: IANAZone,
  from: Instant,
  to: Instant,
): TimeRange[] {
  const windows: TimeRange[] = []
  // A window that starts the day before `from` can still reach into it across midnight.
  const firstDay = dayNumber(wallClockAt(zone, from)) - 1
  const lastDay = dayNumber(wallClockAt(zone, to))
  for (let day = firstDay; day <= lastDay; day++) {
    const weekday = weekdayOf(day)
    for (const restriction of restrictions) {
      if (!restriction.days.some((name) => weekdayIndex[name] === weekday)) continue
      const opens = parseClockTime(restriction.from) ?? 0
      const closes = parseClockTime(restriction.to) ?? 0
      const start = instantAtWallClock(zone, day * dayMs + opens)
      const end = instantAtWallClock(zone, (closes > opens ? day : day + 1) * dayMs + closes)
      if (end > from && start < to && end > start) {
        windows.push({ start: Math.max(start, from), end: Math.min(end, to) })
      }
    }
  }
  windows.sort((a, b) => a.start - b.start)
  const merged: TimeRange[] = []
  for (const window of windows) {
    const last = merged.at(-1)
    if (last && window.start <= last.end) last.end = Math.max(last.end, window.end)
    else merged.push({ ...window })
  }
  return merged
}

/**
 * Who a layer puts on call within `[from, to)`, as sorted, disjoint shifts clipped to the range.
 * The rotation keeps turning outside restriction windows; there the layer just has nobody.
 */
export function layerShifts(
  layer: Layer,
  zone: IANAZone,
  from: Instant,
  to: Instant,
): LayerShift[] {
  if (layer.users.length === 0 || from >= to) return []
  const handoff = layerHandoffs(layer, zone)
  const rotation: LayerShift[] = []
  let k = Math.max(0, shiftIndexAt(layer, handoff, from))
  let start = handoff(k)
  while (start < to) {
    const end = handoff(k + 1)
    if (end > from) {
      const user = layer.users[k % layer.users.length] as string
      rotation.push({ user, start: Math.max(start, from), end: Math.min(end, to) })
    }
    k++
    start = end
  }
  if (layer.restrictions === undefined || layer.restrictions.length === 0) return rotation
  const windows = restrictionWindows(layer.restrictions, zone, from, to)
  const restricted: LayerShift[] = []
  let w = 0
  for (const shift of rotation) {
    while (w < windows.length && (windows[w] as TimeRange).end <= shift.start) w++
    for (let i = w; i < windows.length; i++) {
      const window = windows[i] as TimeRange
      if (window.start >= shift.end) break
      restricted.push({
        user: shift.user,
        start: Math.max(shift.start, window.start),
        end: Math.min(shift.end, window.end),
      })
    }
  }
  return restricted
}
