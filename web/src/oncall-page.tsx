import { useMemo, useState } from 'react'
import { oncallChangedEvent } from './header-ops'
import type { OnCallNow, ScheduleSpan, ScheduleSummary } from './ops-types'
import { navigate } from './router'
import { ScheduleOverrides } from './schedule-overrides'
import { roleAllows, type Session } from './types'
import { useApi } from './use-api'
import { useNow } from './use-media'

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone

const dayLabel = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
})
const dateTimeLabel = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
})

/** A date and time in another time zone, for "(09:00 in Europe/Berlin)". */
function inZone(at: number, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat(undefined, {
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      timeZone,
    }).format(at)
  } catch {
    return ''
  }
}

/** Local midnights from the start of today, `days` + 1 of them (DST days are 23 or 25 hours). */
function localDays(now: number, days: number): number[] {
  const today = new Date(now)
  return Array.from({ length: days + 1 }, (_, i) =>
    new Date(today.getFullYear(), today.getMonth(), today.getDate() + i).getTime(),
  )
}

const palette = 6

/** The same person gets the same colour in every row and every schedule. */
function colourOf(user: string): number {
  let hash = 0
  for (const ch of user) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0
  return hash % palette
}

/**
 * The on-call calendar: who is on call now in every schedule, and per schedule a one- or
 * two-week calendar of the final schedule in the browser's time zone, overrides and gaps marked,
 * and its overrides, which operators may add and remove.
 */
export function OncallPage(props: { search: URLSearchParams; session: Session }) {
  const schedules = useApi<{ items: ScheduleSummary[] }>('/api/v1/schedules')
  const oncall = useApi<{ at: number; schedules: OnCallNow[] }>('/api/v1/oncall/now')
  const weeks = props.search.get('weeks') === '1' ? 1 : 2
  const items = schedules.data?.items ?? []
  const chosen = props.search.get('schedule') ?? items[0]?.id
  const canWrite = roleAllows(props.session.role, 'operator')
  const overridesChanged = () => {
    oncall.reload()
    window.dispatchEvent(new Event(oncallChangedEvent))
  }
  const setParam = (key: string, value: string) => {
    const params = new URLSearchParams(location.search)
    params.set(key, value)
    navigate(`/oncall?${params}`, { replace: true })
  }

  return (
    <main className="page oncall-page">
      <div className="page-head">
        <h1>On-call</h1>
        <span className="muted">times in your time zone, {browserZone}</span>
      </div>
      {schedules.error ? <p className="form-error">{schedules.error}</p> : null}
      {schedules.data && items.length === 0 ? (
        <div className="card empty">
          <p>No schedules yet.</p>
          <p className="muted">
            Declare <code>users:</code> and <code>schedules:</code> in keel.yaml and run{' '}
            <code>keel apply</code>.
          </p>
        </div>
      ) : null}

      <section className="now-grid" aria-label="On call now" data-testid="oncall-now-list">
        {(oncall.data?.schedules ?? []).map((s) => (
          <button
            key={s.schedule}
            type="button"
            className={`now-card${s.schedule === chosen ? ' now-card-chosen' : ''}${s.user ? '' : ' now-gap'}`}
            onClick={() => setParam('schedule', s.schedule)}
            aria-pressed={s.schedule === chosen}
          >
            <span className="fact-label">{s.schedule}</span>
            <span className="fact-value">
              {s.user ? (s.name ?? s.user) : 'Nobody: gap'}
              {s.source === 'override' ? <span className="override-tag">override</span> : null}
            </span>
            <span className="fact-sub">
              {s.end
                ? `until ${dateTimeLabel.format(s.end)}`
                : s.nextHandoff
                  ? `next ${dateTimeLabel.format(s.nextHandoff)}`
                  : ' '}
            </span>
          </button>
        ))}
      </section>

      {chosen ? (
        <ScheduleCalendar
          key={`${chosen}-${weeks}`}
          schedule={items.find((s) => s.id === chosen)}
          id={chosen}
          weeks={weeks}
          onWeeks={(w) => setParam('weeks', String(w))}
          canWrite={canWrite}
          onOverridesChanged={overridesChanged}
        />
      ) : null}
    </main>
  )
}

function ScheduleCalendar(props: {
  id: string
  schedule: ScheduleSummary | undefined
  weeks: 1 | 2
  onWeeks: (weeks: number) => void
  canWrite: boolean
  onOverridesChanged: () => void
}) {
  const { id, schedule, weeks } = props
  const now = useNow(60_000)
  // The range starts at today's local midnight; fixed while the page is open.
  const [days] = useState(() => localDays(Date.now(), 14))
  const shown = days.slice(0, weeks * 7 + 1)
  const from = shown[0] as number
  const to = shown[shown.length - 1] as number
  const final = useApi<{ timeZone: string; spans: ScheduleSpan[] }>(
    `/api/v1/schedules/${encodeURIComponent(id)}/final?from=${from}&to=${to}`,
  )
  const spans = final.data?.spans ?? []
  const timeZone = final.data?.timeZone ?? schedule?.timeZone ?? 'UTC'
  const people = useMemo(() => {
    const seen = new Map<string, string>()
    for (const span of spans) if (span.user) seen.set(span.user, span.name ?? span.user)
    return [...seen.entries()]
  }, [spans])
  const gaps = spans.filter((s) => s.source === 'gap')

  return (
    <>
      <section className="card calendar-card" data-testid="calendar" data-schedule={id}>
        <div className="card-head">
          <h2>
            {id} <span className="muted small">schedule time zone {timeZone}</span>
          </h2>
          <div className="segmented" role="group" aria-label="Range">
            {[1, 2].map((w) => (
              <button
                key={w}
                type="button"
                aria-pressed={weeks === w}
                onClick={() => props.onWeeks(w)}
              >
                {w === 1 ? '1 week' : '2 weeks'}
              </button>
            ))}
          </div>
        </div>
        {final.error ? <p className="form-error">{final.error}</p> : null}
        <div className="legend">
          {people.map(([user, name]) => (
            <span key={user} className={`legend-item person-${colourOf(user)}`}>
              <span className="swatch" aria-hidden="true" />
              {name}
            </span>
          ))}
          <span className="legend-item override-legend">
            <span className="swatch" aria-hidden="true" />
            override
          </span>
          <span className="legend-item gap-legend">
            <span className="swatch" aria-hidden="true" />
            gap (nobody on call)
          </span>
        </div>
        <div className="calendar" role="table" aria-label={`Final schedule of ${id}`}>
          <div className="cal-row cal-hours" role="row" aria-hidden="true">
            <span className="cal-day" />
            <span className="cal-track">
              {[0, 6, 12, 18].map((h) => (
                <span key={h} className="cal-hour" style={{ left: `${(h / 24) * 100}%` }}>
                  {String(h).padStart(2, '0')}
                </span>
              ))}
            </span>
          </div>
          {shown.slice(0, -1).map((start, i) => {
            const end = shown[i + 1] as number
            const length = end - start
            const today = now >= start && now < end
            return (
              <div key={start} className={`cal-row${today ? ' cal-today' : ''}`} role="row">
                <span className="cal-day" role="rowheader">
                  {dayLabel.format(start)}
                </span>
                <span className="cal-track" role="cell">
                  {spans
                    .filter((s) => s.end > start && s.start < end)
                    .map((s) => {
                      const left = ((Math.max(s.start, start) - start) / length) * 100
                      const width =
                        ((Math.min(s.end, end) - Math.max(s.start, start)) / length) * 100
                      const who = s.user ? (s.name ?? s.user) : 'nobody'
                      const label = `${who}${s.source === 'override' ? ' (override)' : ''}: ${dateTimeLabel.format(s.start)} – ${dateTimeLabel.format(s.end)}; in ${timeZone}: ${inZone(s.start, timeZone)} – ${inZone(s.end, timeZone)}`
                      return (
                        <span
                          key={`${s.start}-${s.user ?? 'gap'}`}
                          className={`cal-span span-${s.source}${s.user ? ` person-${colourOf(s.user)}` : ''}`}
                          style={{ left: `${left}%`, width: `${width}%` }}
                          title={label}
                          aria-label={label}
                          data-source={s.source}
                        >
                          {width > 12 ? who : ''}
                        </span>
                      )
                    })}
                  {today ? (
                    <span
                      className="cal-now"
                      style={{ left: `${((now - start) / length) * 100}%` }}
                      title="now"
                    />
                  ) : null}
                </span>
              </div>
            )
          })}
        </div>
        {gaps.length > 0 ? (
          <p className="form-error small" data-testid="gaps">
            {gaps.length} gap{gaps.length === 1 ? '' : 's'} with nobody on call:{' '}
            {gaps
              .slice(0, 5)
              .map((g) => `${dateTimeLabel.format(g.start)} – ${dateTimeLabel.format(g.end)}`)
              .join('; ')}
            {gaps.length > 5 ? '; …' : ''}
          </p>
        ) : null}
        <details className="shift-list">
          <summary>Shifts as a list</summary>
          <table className="results">
            <thead>
              <tr>
                <th>Who</th>
                <th>From (yours)</th>
                <th>To (yours)</th>
                <th>In {timeZone}</th>
              </tr>
            </thead>
            <tbody>
              {spans.map((s) => (
                <tr key={`${s.start}-${s.user ?? 'gap'}`} className={`span-row-${s.source}`}>
                  <td>
                    {s.user ? (s.name ?? s.user) : 'nobody (gap)'}
                    {s.source === 'override' ? (
                      <span className="override-tag">override</span>
                    ) : null}
                  </td>
                  <td className="nowrap">{dateTimeLabel.format(s.start)}</td>
                  <td className="nowrap">{dateTimeLabel.format(s.end)}</td>
                  <td className="nowrap muted">
                    {inZone(s.start, timeZone)} – {inZone(s.end, timeZone)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
        {schedule?.feedPath ? (
          <p className="muted small">
            Calendar feed for your calendar app: <code className="break">{schedule.feedPath}</code>
          </p>
        ) : null}
      </section>
      <ScheduleOverrides
        id={id}
        timeZone={timeZone}
        users={schedule?.users ?? []}
        canWrite={props.canWrite}
        now={now}
        onChanged={() => {
          final.reload()
          props.onOverridesChanged()
        }}
      />
    </>
  )
}
