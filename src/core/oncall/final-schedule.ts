import type { Instant } from '../time.js'
import { layerShifts, type LayerShift } from './layer-shifts.js'
import type { Schedule } from './schedule-schema.js'
import { zoneOf } from './wall-clock.js'

/** Where a user's time on call comes from: a layer's rotation or an override. */
export type ShiftSource = { kind: 'layer'; layerId: string } | { kind: 'override' }

/**
 * A span of the final schedule, `[start, end)`: a user on call and why, or a gap (`user`
 * undefined) when nobody is.
 */
export type OnCallShift =
  | { user: string; start: Instant; end: Instant; source: ShiftSource }
  | { user: undefined; start: Instant; end: Instant; source: { kind: 'gap' } }

interface Candidate extends LayerShift {
  source: ShiftSource
}

function sameSource(a: OnCallShift['source'], b: OnCallShift['source']): boolean {
  if (a.kind === 'layer' && b.kind === 'layer') return a.layerId === b.layerId
  return a.kind === b.kind
}

/**
 * Who is on call across `[from, to)`: contiguous spans that tile the range, an override above
 * every layer and a later layer above an earlier one wherever it has someone, with consecutive
 * time of the same user from the same source merged and nobody's time reported as gaps.
 */
export function finalSchedule(schedule: Schedule, from: Instant, to: Instant): OnCallShift[] {
  if (!(from < to)) return []
  const zone = zoneOf(schedule.timeZone)
  // Lowest priority first: layers in order, then overrides in order.
  const sources: Candidate[][] = []
  if (zone !== undefined) {
    for (const layer of schedule.layers) {
      const source: ShiftSource = { kind: 'layer', layerId: layer.id }
      sources.push(layerShifts(layer, zone, from, to).map((shift) => ({ ...shift, source })))
    }
  }
  for (const override of schedule.overrides) {
    if (override.end <= from || override.start >= to) continue
    sources.push([
      {
        user: override.user,
        start: Math.max(override.start, from),
        end: Math.min(override.end, to),
        source: { kind: 'override' },
      },
    ])
  }

  const boundaries = new Set<Instant>([from, to])
  for (const list of sources) {
    for (const shift of list) {
      boundaries.add(shift.start)
      boundaries.add(shift.end)
    }
  }
  const points = [...boundaries].sort((a, b) => a - b)
  const cursors = sources.map(() => 0)
  const spans: OnCallShift[] = []
  for (let p = 0; p + 1 < points.length; p++) {
    const start = points[p] as Instant
    const end = points[p + 1] as Instant
    let winner: Candidate | undefined
    for (let s = sources.length - 1; s >= 0 && winner === undefined; s--) {
      const list = sources[s] as Candidate[]
      let cursor = cursors[s] as number
      while (cursor < list.length && (list[cursor] as Candidate).end <= start) cursor++
      cursors[s] = cursor
      const shift = list[cursor]
      if (shift !== undefined && shift.start <= start) winner = shift
    }
    const span: OnCallShift =
      winner === undefined
        ? { user: undefined, start, end, source: { kind: 'gap' } }
        : { user: winner.user, start, end, source: winner.source }
    const last = spans.at(-1)
    if (last !== undefined && last.user === span.user && sameSource(last.source, span.source)) {
      last.end = end
    } else {
      spans.push(span)
    }
  }
  return spans
}
