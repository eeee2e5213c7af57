import { useState, type FormEvent } from 'react'
import { api } from './api'
import { Field, issuesAt, saveErrorOf, type SaveError } from './form-field'
import type { ScheduleOverride } from './ops-types'
import { messageOf, useApi } from './use-api'

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone

const dateTimeLabel = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
})

/** How far `timeZone`'s wall clock is ahead of UTC at `at`, in ms. */
function zoneOffset(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(at)
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0)
  const wall = Date.UTC(
    part('year'),
    part('month') - 1,
    part('day'),
    part('hour'),
    part('minute'),
    part('second'),
  )
  return wall - Math.floor(at / 1000) * 1000
}

/**
 * A `datetime-local` value read as a wall-clock time in `timeZone`, as an instant. The offset is
 * looked up twice so that a time just after a DST change gets the offset in force then.
 */
function instantOf(local: string, timeZone: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local)
  if (!m) return undefined
  const [, y, mo, d, h, mi] = m.map(Number) as number[]
  const wall = Date.UTC(y as number, (mo as number) - 1, d, h, mi)
  try {
    const first = wall - zoneOffset(wall, timeZone)
    return wall - zoneOffset(first, timeZone)
  } catch {
    return undefined
  }
}

/** A date and time in `timeZone`, for "(Sat 09:00 in Europe/Berlin)". */
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

/**
 * The overrides of one schedule made through the API, the CLI or this page that are current or
 * upcoming, with a form to add one and remove buttons for operators.
 */
export function ScheduleOverrides(props: {
  id: string
  timeZone: string
  users: { id: string; name?: string }[]
  canWrite: boolean
  now: number
  onChanged: () => void
}) {
  const { id, timeZone, canWrite } = props
  const list = useApi<{ items: ScheduleOverride[] }>(
    `/api/v1/schedules/${encodeURIComponent(id)}/overrides`,
  )
  const [actionError, setActionError] = useState<string>()
  const items = [...(list.data?.items ?? [])].sort((a, b) => a.start - b.start)
  // `props.now` ticks each minute; an override added since starts later than its last tick.
  const now = Math.max(props.now, Date.now())
  const changed = () => {
    list.reload()
    props.onChanged()
  }

  const remove = async (override: ScheduleOverride) => {
    setActionError(undefined)
    try {
      await api(
        `/api/v1/schedules/${encodeURIComponent(id)}/overrides/${encodeURIComponent(override.id)}`,
        { method: 'DELETE' },
      )
      changed()
    } catch (err) {
      setActionError(messageOf(err))
    }
  }

  return (
    <section
      className="card overrides-card"
      aria-labelledby={`overrides-${id}`}
      data-testid="overrides"
      data-schedule={id}
    >
      <div className="card-head">
        <h2 id={`overrides-${id}`}>Overrides</h2>
        <span className="muted">
          current and upcoming, above every layer; overrides in keel.yaml show in the calendar
        </span>
      </div>
      {list.error ? <p className="form-error">Could not load overrides: {list.error}</p> : null}
      {actionError ? (
        <p className="form-error" role="alert">
          {actionError}
        </p>
      ) : null}
      <div className="override-list" role="list" aria-label={`Overrides of ${id}`}>
        {items.map((o) => {
          const current = o.start <= now && now < o.end
          return (
            <div key={o.id} className="srow orow" role="listitem" data-override={o.id}>
              <span className="orow-who">
                <strong>{o.name ?? o.user}</strong>
                {current ? <span className="override-tag">now</span> : null}
              </span>
              <span className="srow-main">
                <span>
                  <span className="nowrap">{dateTimeLabel.format(o.start)}</span> –{' '}
                  <span className="nowrap">{dateTimeLabel.format(o.end)}</span>
                </span>
                <span className="muted small">
                  {timeZone !== browserZone
                    ? `${inZone(o.start, timeZone)} – ${inZone(o.end, timeZone)} in ${timeZone} · `
                    : ''}
                  by {o.createdBy}
                  {o.note ? ` · ${o.note}` : ''}
                </span>
              </span>
              <span>
                {canWrite ? (
                  <button
                    type="button"
                    className="button"
                    aria-label={`Remove the override of ${o.name ?? o.user}`}
                    onClick={() => void remove(o)}
                  >
                    Remove
                  </button>
                ) : null}
              </span>
            </div>
          )
        })}
      </div>
      {list.data && items.length === 0 ? (
        <p className="muted small" data-testid="no-overrides">
          No current or upcoming overrides.
        </p>
      ) : null}
      {canWrite ? (
        <OverrideForm id={id} timeZone={timeZone} users={props.users} onCreated={changed} />
      ) : null}
    </section>
  )
}

function OverrideForm(props: {
  id: string
  timeZone: string
  users: { id: string; name?: string }[]
  onCreated: () => void
}) {
  const { id, timeZone } = props
  const sameZone = timeZone === browserZone
  const [zone, setZone] = useState<'yours' | 'schedule'>('yours')
  const [user, setUser] = useState('')
  const [start, setStart] = useState('')
  const [end, setEnd] = useState('')
  const [note, setNote] = useState('')
  const [error, setError] = useState<SaveError>()
  const [busy, setBusy] = useState(false)
  const readIn = zone === 'schedule' ? timeZone : browserZone

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    const from = start ? instantOf(start, readIn) : Date.now()
    const to = instantOf(end, readIn)
    try {
      await api(`/api/v1/schedules/${encodeURIComponent(id)}/overrides`, {
        method: 'POST',
        body: {
          user: user.trim(),
          // An unreadable time is sent as typed, so the server names the field.
          start: from !== undefined ? new Date(from).toISOString() : start,
          end: to !== undefined ? new Date(to).toISOString() : end,
          ...(note.trim() ? { note: note.trim() } : {}),
        },
      })
      setUser('')
      setStart('')
      setEnd('')
      setNote('')
      props.onCreated()
    } catch (err) {
      setError(saveErrorOf(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form
      className="form-card override-form"
      onSubmit={(e) => void submit(e)}
      aria-label={`New override of ${id}`}
    >
      <h3>Add an override</h3>
      <div className="field-row">
        <Field
          label="Who"
          htmlFor="override-user"
          errors={issuesAt(error, 'user')}
          hint="a user id of keel.yaml"
        >
          <input
            id="override-user"
            list="override-users"
            autoComplete="off"
            value={user}
            onChange={(e) => setUser(e.target.value)}
          />
          <datalist id="override-users">
            {props.users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name ?? u.id}
              </option>
            ))}
          </datalist>
        </Field>
        <Field label="Note" htmlFor="override-note" errors={issuesAt(error, 'note')}>
          <input
            id="override-note"
            value={note}
            placeholder="e.g. swap with Bob, dentist"
            onChange={(e) => setNote(e.target.value)}
          />
        </Field>
      </div>
      {sameZone ? null : (
        <div className="zone-choice">
          <span id={`override-zone-${id}`}>Times are in</span>
          <div className="segmented" role="group" aria-labelledby={`override-zone-${id}`}>
            <button type="button" aria-pressed={zone === 'yours'} onClick={() => setZone('yours')}>
              your time
            </button>
            <button
              type="button"
              aria-pressed={zone === 'schedule'}
              onClick={() => setZone('schedule')}
            >
              schedule’s time
            </button>
          </div>
        </div>
      )}
      <div className="field-row">
        <Field
          label={`From (${readIn})`}
          htmlFor="override-start"
          errors={issuesAt(error, 'start')}
          hint="empty: now"
        >
          <input
            id="override-start"
            type="datetime-local"
            value={start}
            onChange={(e) => setStart(e.target.value)}
          />
        </Field>
        <Field label={`To (${readIn})`} htmlFor="override-end" errors={issuesAt(error, 'end')}>
          <input
            id="override-end"
            type="datetime-local"
            value={end}
            onChange={(e) => setEnd(e.target.value)}
          />
        </Field>
      </div>
      {error ? (
        <p className="form-error" role="alert">
          {error.message}
        </p>
      ) : null}
      <button type="submit" className="button primary" disabled={busy}>
        {busy ? 'Adding…' : 'Add override'}
      </button>
    </form>
  )
}
