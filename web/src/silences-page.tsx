import { useState, type FormEvent } from 'react'
import { api } from './api'
import { Field, issuesAt, saveErrorOf, type SaveError } from './form-field'
import { when } from './format'
import type { MaintenanceWindow, Silence } from './ops-types'
import { roleAllows, type Session } from './types'
import { messageOf, useApi } from './use-api'

const weekDays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone

/** The non-empty lines of a textarea: one `name="value"` matcher per line. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
}

/** A `datetime-local` value as ISO 8601, or undefined when empty. */
function isoOf(local: string): string | undefined {
  if (!local) return undefined
  const at = new Date(local)
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString()
}

function StateTag(props: { state: string }) {
  const colour =
    props.state === 'active'
      ? 'paused'
      : props.state === 'pending' || props.state === 'scheduled'
        ? 'pending'
        : 'up'
  return (
    <span className={`chip chip-${colour}`} data-state={props.state}>
      <span className="chip-dot" aria-hidden="true" />
      {props.state}
    </span>
  )
}

function Matchers(props: { matchers: string[] }) {
  return (
    <span className="labels-line">
      {props.matchers.map((m) => (
        <code key={m} className="label">
          {m}
        </code>
      ))}
    </span>
  )
}

function Days(props: { idPrefix: string; value: string[]; onChange: (days: string[]) => void }) {
  return (
    <span className="days">
      {weekDays.map((d) => (
        <label key={d} className="day">
          <input
            type="checkbox"
            id={`${props.idPrefix}-${d}`}
            checked={props.value.includes(d)}
            onChange={(e) =>
              props.onChange(
                e.target.checked ? [...props.value, d] : props.value.filter((x) => x !== d),
              )
            }
          />
          {d}
        </label>
      ))}
    </span>
  )
}

type SilenceFilter = 'active' | 'pending' | 'expired' | 'all'

/** Silences: active, pending and expired ones, a form to add one, and expire buttons. */
export function SilencesPage(props: { session: Session }) {
  const list = useApi<{ silences: Silence[] }>('/api/v1/silences')
  const [filter, setFilter] = useState<SilenceFilter>('active')
  const [actionError, setActionError] = useState<string>()
  const canWrite = roleAllows(props.session.role, 'operator')
  const all = list.data?.silences ?? []
  const shown = filter === 'all' ? all : all.filter((s) => s.state === filter)
  const count = (state: SilenceFilter) =>
    state === 'all' ? all.length : all.filter((s) => s.state === state).length

  const expire = async (id: string) => {
    setActionError(undefined)
    try {
      await api(`/api/v1/silences/${encodeURIComponent(id)}`, { method: 'DELETE' })
      list.reload()
    } catch (err) {
      setActionError(messageOf(err))
    }
  }

  return (
    <main className="page silences-page">
      <div className="page-head">
        <h1>Silences</h1>
        <span className="muted">mute notifications of matching alerts for a while</span>
      </div>
      <div className="toolbar">
        <div className="segmented" role="group" aria-label="Filter by state">
          {(['active', 'pending', 'expired', 'all'] as SilenceFilter[]).map((state) => (
            <button
              key={state}
              type="button"
              aria-pressed={filter === state}
              onClick={() => setFilter(state)}
            >
              {state} <span className="n">{count(state)}</span>
            </button>
          ))}
        </div>
      </div>
      {list.error ? <p className="form-error">Could not load silences: {list.error}</p> : null}
      {actionError ? (
        <p className="form-error" role="alert">
          {actionError}
        </p>
      ) : null}
      <div className="list-card" role="list" aria-label="Silences">
        {shown.map((s) => (
          <div key={s.id} className="srow" role="listitem" data-silence={s.id} data-state={s.state}>
            <span>
              <StateTag state={s.state} />
            </span>
            <span className="srow-main">
              <Matchers matchers={s.matchers} />
              <span className="small">{s.comment}</span>
              <span className="muted small">
                {when(Date.parse(s.startsAt))} – {when(Date.parse(s.endsAt))} · by {s.createdBy}
                {s.recurrence
                  ? ` · every ${s.recurrence.days.join(', ')} ${s.recurrence.from}–${s.recurrence.to} ${s.recurrence.timeZone ?? ''}`
                  : ''}
              </span>
            </span>
            <span>
              {s.state !== 'expired' ? (
                <button
                  type="button"
                  className="button"
                  disabled={!canWrite}
                  onClick={() => void expire(s.id)}
                >
                  Expire
                </button>
              ) : null}
            </span>
          </div>
        ))}
        {list.data && shown.length === 0 ? (
          <div className="empty">
            <p>No {filter === 'all' ? '' : `${filter} `}silences.</p>
          </div>
        ) : null}
      </div>
      {canWrite ? <SilenceForm onCreated={list.reload} /> : null}
    </main>
  )
}

function SilenceForm(props: { onCreated: () => void }) {
  const [matchers, setMatchers] = useState('')
  const [startsAt, setStartsAt] = useState('')
  const [mode, setMode] = useState<'duration' | 'end'>('duration')
  const [durationText, setDurationText] = useState('2h')
  const [endsAt, setEndsAt] = useState('')
  const [comment, setComment] = useState('')
  const [recurring, setRecurring] = useState(false)
  const [days, setDays] = useState<string[]>(['sat', 'sun'])
  const [from, setFrom] = useState('22:00')
  const [to, setTo] = useState('23:00')
  const [error, setError] = useState<SaveError>()
  const [busy, setBusy] = useState(false)

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    const start = isoOf(startsAt)
    const end = isoOf(endsAt)
    try {
      await api('/api/v1/silences', {
        method: 'POST',
        body: {
          matchers: lines(matchers),
          ...(start ? { startsAt: start } : {}),
          ...(mode === 'end' ? (end ? { endsAt: end } : {}) : { duration: durationText.trim() }),
          comment: comment.trim(),
          ...(recurring ? { recurrence: { days, from, to, timeZone: browserZone } } : {}),
        },
      })
      setMatchers('')
      setComment('')
      props.onCreated()
    } catch (err) {
      setError(saveErrorOf(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form className="card form-card" onSubmit={(e) => void submit(e)} aria-label="New silence">
      <h2>New silence</h2>
      <Field
        label="Matchers"
        htmlFor="silence-matchers"
        errors={issuesAt(error, 'matchers')}
        hint={
          <>
            one per line, e.g. <code>service="db-main"</code>, <code>severity=~"warn|crit"</code>
          </>
        }
      >
        <textarea
          id="silence-matchers"
          rows={3}
          value={matchers}
          onChange={(e) => setMatchers(e.target.value)}
        />
      </Field>
      <div className="field-row">
        <Field
          label="Starts"
          htmlFor="silence-start"
          errors={issuesAt(error, 'startsAt')}
          hint="empty: now"
        >
          <input
            id="silence-start"
            type="datetime-local"
            value={startsAt}
            onChange={(e) => setStartsAt(e.target.value)}
          />
        </Field>
        <Field
          label={mode === 'duration' ? 'For' : 'Ends'}
          htmlFor="silence-end"
          errors={[...issuesAt(error, 'duration'), ...issuesAt(error, 'endsAt')]}
          hint={
            <button
              type="button"
              className="link-button"
              onClick={() => setMode(mode === 'duration' ? 'end' : 'duration')}
            >
              {mode === 'duration' ? 'give an end instead' : 'give a duration instead'}
            </button>
          }
        >
          {mode === 'duration' ? (
            <input
              id="silence-end"
              value={durationText}
              placeholder="2h"
              onChange={(e) => setDurationText(e.target.value)}
            />
          ) : (
            <input
              id="silence-end"
              type="datetime-local"
              value={endsAt}
              onChange={(e) => setEndsAt(e.target.value)}
            />
          )}
        </Field>
      </div>
      <Field label="Comment" htmlFor="silence-comment" errors={issuesAt(error, 'comment')}>
        <input
          id="silence-comment"
          value={comment}
          placeholder="Why; shown to whoever wonders where the pages went"
          onChange={(e) => setComment(e.target.value)}
        />
      </Field>
      <label className="check">
        <input
          type="checkbox"
          checked={recurring}
          onChange={(e) => setRecurring(e.target.checked)}
        />
        Repeats every week
      </label>
      {recurring ? (
        <Field
          label={`Days and hours (${browserZone})`}
          htmlFor="silence-rec-mon"
          errors={issuesAt(error, 'recurrence')}
        >
          <Days idPrefix="silence-rec" value={days} onChange={setDays} />
          <span className="field-row">
            <input
              type="time"
              aria-label="From"
              value={from}
              onChange={(e) => setFrom(e.target.value)}
            />
            <input type="time" aria-label="To" value={to} onChange={(e) => setTo(e.target.value)} />
          </span>
        </Field>
      ) : null}
      {error ? (
        <p className="form-error" role="alert">
          {error.message}
        </p>
      ) : null}
      <button type="submit" className="button primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create silence'}
      </button>
    </form>
  )
}

type WindowFilter = 'active' | 'scheduled' | 'completed' | 'all'

/** Maintenance windows: from keel.yaml (read-only) and the API, a form, and delete buttons. */
export function MaintenancePage(props: { session: Session }) {
  const list = useApi<{ windows: MaintenanceWindow[] }>('/api/v1/maintenance')
  const [filter, setFilter] = useState<WindowFilter>('all')
  const [actionError, setActionError] = useState<string>()
  const canWrite = roleAllows(props.session.role, 'operator')
  const all = list.data?.windows ?? []
  const shown = filter === 'all' ? all : all.filter((w) => w.state === filter)

  const remove = async (id: string) => {
    setActionError(undefined)
    try {
      await api(`/api/v1/maintenance/${encodeURIComponent(id)}`, { method: 'DELETE' })
      list.reload()
    } catch (err) {
      setActionError(messageOf(err))
    }
  }

  return (
    <main className="page maintenance-page">
      <div className="page-head">
        <h1>Maintenance windows</h1>
        <span className="muted">
          planned work: mutes matching alerts and shows on the status page
        </span>
      </div>
      <div className="toolbar">
        <div className="segmented" role="group" aria-label="Filter by state">
          {(['all', 'active', 'scheduled', 'completed'] as WindowFilter[]).map((state) => (
            <button
              key={state}
              type="button"
              aria-pressed={filter === state}
              onClick={() => setFilter(state)}
            >
              {state}{' '}
              <span className="n">
                {state === 'all' ? all.length : all.filter((w) => w.state === state).length}
              </span>
            </button>
          ))}
        </div>
      </div>
      {list.error ? (
        <p className="form-error">Could not load maintenance windows: {list.error}</p>
      ) : null}
      {actionError ? (
        <p className="form-error" role="alert">
          {actionError}
        </p>
      ) : null}
      <div className="list-card" role="list" aria-label="Maintenance windows">
        {shown.map((w) => (
          <div key={w.id} className="srow" role="listitem" data-window={w.id} data-state={w.state}>
            <span>
              <StateTag state={w.state} />
            </span>
            <span className="srow-main">
              <strong>{w.title}</strong>
              {w.description ? <span className="small">{w.description}</span> : null}
              <Matchers matchers={w.matchers} />
              <span className="muted small">
                {w.oneOff
                  ? `${when(Date.parse(w.oneOff.start))} – ${when(Date.parse(w.oneOff.end))}`
                  : w.recurring
                    ? `every ${w.recurring.days.join(', ')} ${w.recurring.from}–${w.recurring.to}`
                    : ''}{' '}
                ({w.timeZone}) · {w.public ? 'on the status page' : 'not public'} ·{' '}
                {w.source === 'config' ? 'from keel.yaml' : 'from the API'}
              </span>
            </span>
            <span>
              {w.source === 'api' ? (
                <button
                  type="button"
                  className="button"
                  disabled={!canWrite}
                  onClick={() => void remove(w.id)}
                >
                  Delete
                </button>
              ) : (
                <span className="muted small" title="Change it in keel.yaml and run keel apply">
                  read-only
                </span>
              )}
            </span>
          </div>
        ))}
        {list.data && shown.length === 0 ? (
          <div className="empty">
            <p>No maintenance windows.</p>
          </div>
        ) : null}
      </div>
      {canWrite ? <MaintenanceForm onCreated={list.reload} /> : null}
    </main>
  )
}

function MaintenanceForm(props: { onCreated: () => void }) {
  const [title, setTitle] = useState('')
  const [description, setDescription] = useState('')
  const [matchers, setMatchers] = useState('')
  const [timeZone, setTimeZone] = useState(browserZone)
  const [kind, setKind] = useState<'oneOff' | 'recurring'>('oneOff')
  const [start, setStart] = useState('')
  const [end, setEnd] = useState('')
  const [days, setDays] = useState<string[]>(['sun'])
  const [from, setFrom] = useState('02:00')
  const [to, setTo] = useState('04:00')
  const [isPublic, setPublic] = useState(true)
  const [error, setError] = useState<SaveError>()
  const [busy, setBusy] = useState(false)

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await api('/api/v1/maintenance', {
        method: 'POST',
        body: {
          title: title.trim(),
          ...(description.trim() ? { description: description.trim() } : {}),
          matchers: lines(matchers),
          timeZone,
          ...(kind === 'oneOff'
            ? { oneOff: { start: isoOf(start) ?? '', end: isoOf(end) ?? '' } }
            : { recurring: { days, from, to } }),
          public: isPublic,
        },
      })
      setTitle('')
      setDescription('')
      setMatchers('')
      props.onCreated()
    } catch (err) {
      setError(saveErrorOf(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form
      className="card form-card"
      onSubmit={(e) => void submit(e)}
      aria-label="New maintenance window"
    >
      <h2>New maintenance window</h2>
      <Field label="Title" htmlFor="mw-title" errors={issuesAt(error, 'title')}>
        <input id="mw-title" value={title} onChange={(e) => setTitle(e.target.value)} />
      </Field>
      <Field label="Description" htmlFor="mw-description" errors={issuesAt(error, 'description')}>
        <input
          id="mw-description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
      </Field>
      <Field
        label="Matchers"
        htmlFor="mw-matchers"
        errors={issuesAt(error, 'matchers')}
        hint={
          <>
            one per line, e.g. <code>service="shop"</code>
          </>
        }
      >
        <textarea
          id="mw-matchers"
          rows={2}
          value={matchers}
          onChange={(e) => setMatchers(e.target.value)}
        />
      </Field>
      <div className="segmented" role="group" aria-label="When">
        <button type="button" aria-pressed={kind === 'oneOff'} onClick={() => setKind('oneOff')}>
          once
        </button>
        <button
          type="button"
          aria-pressed={kind === 'recurring'}
          onClick={() => setKind('recurring')}
        >
          every week
        </button>
      </div>
      {kind === 'oneOff' ? (
        <div className="field-row">
          <Field label="Starts" htmlFor="mw-start" errors={issuesAt(error, 'oneOff.start')}>
            <input
              id="mw-start"
              type="datetime-local"
              value={start}
              onChange={(e) => setStart(e.target.value)}
            />
          </Field>
          <Field label="Ends" htmlFor="mw-end" errors={issuesAt(error, 'oneOff.end')}>
            <input
              id="mw-end"
              type="datetime-local"
              value={end}
              onChange={(e) => setEnd(e.target.value)}
            />
          </Field>
        </div>
      ) : (
        <Field label="Days and hours" htmlFor="mw-rec-mon" errors={issuesAt(error, 'recurring')}>
          <Days idPrefix="mw-rec" value={days} onChange={setDays} />
          <span className="field-row">
            <input
              type="time"
              aria-label="From"
              value={from}
              onChange={(e) => setFrom(e.target.value)}
            />
            <input type="time" aria-label="To" value={to} onChange={(e) => setTo(e.target.value)} />
          </span>
        </Field>
      )}
      <Field label="Time zone" htmlFor="mw-zone" errors={issuesAt(error, 'timeZone')}>
        <input id="mw-zone" value={timeZone} onChange={(e) => setTimeZone(e.target.value)} />
      </Field>
      <label className="check">
        <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} />
        Show on the status page
      </label>
      {error ? (
        <p className="form-error" role="alert">
          {error.message}
        </p>
      ) : null}
      <button type="submit" className="button primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create window'}
      </button>
    </form>
  )
}
