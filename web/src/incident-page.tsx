import { useEffect, useRef, useState, type FormEvent } from 'react'
import { api, ApiError } from './api'
import { ago, duration, when } from './format'
import { IncidentStatusChip, SeverityTag } from './incident-chip'
import { incidentEvent, streamOpenEvent } from './monitor-store'
import {
  incidentRoleNames,
  incidentSeverities,
  type Incident,
  type IncidentDetail,
  type LinkedAlert,
  type Silence,
} from './ops-types'
import { Link } from './router'
import './role-home.css'
import { isTyping } from './shortcuts'
import { roleAllows, type Session } from './types'
import { messageOf, useApi, useWindowEvent } from './use-api'
import { useNow } from './use-media'

/** Reads the postmortem draft, which the API answers as markdown rather than JSON. */
async function fetchPostmortem(id: number): Promise<string> {
  const response = await fetch(`/api/v1/incidents/${id}/postmortem`, {
    headers: { Accept: 'text/markdown', 'X-Keel-CSRF': '1' },
    credentials: 'same-origin',
  })
  const text = await response.text()
  if (!response.ok) throw new ApiError(response.status, text || response.statusText)
  return text
}

/**
 * One incident: status, the big acknowledge button (thumb-sized on a phone), resolve, people and
 * roles, linked alerts with one-click silences, the timeline with notes, and the postmortem draft.
 * It is read again whenever the event stream reports a change to this incident.
 */
export function IncidentPage(props: { id: string; session: Session }) {
  const { id, session } = props
  const url = `/api/v1/incidents/${encodeURIComponent(id)}`
  const detail = useApi<IncidentDetail>(url)
  const now = useNow(5_000)
  const [busy, setBusy] = useState<string>()
  const [actionError, setActionError] = useState<string>()
  const [note, setNote] = useState('')
  const [publish, setPublish] = useState(false)
  const [postmortem, setPostmortem] = useState<string>()
  const noteRef = useRef<HTMLTextAreaElement>(null)
  const incident = detail.data

  useWindowEvent(incidentEvent, (event) => {
    const changed = (event as CustomEvent<Incident>).detail
    if (String(changed?.id) === String(incident?.id ?? id)) detail.reload()
  })
  useWindowEvent(streamOpenEvent, () => detail.reload())

  const canRespond = roleAllows(session.role, 'responder')
  const canOperate = roleAllows(session.role, 'operator')

  const act = async (name: string, path: string, body?: unknown) => {
    setBusy(name)
    setActionError(undefined)
    try {
      await api<Incident>(`${url}/${path}`, { method: 'POST', body: body ?? {} })
      detail.reload()
      return true
    } catch (err) {
      setActionError(messageOf(err))
      return false
    } finally {
      setBusy(undefined)
    }
  }

  // `a` acknowledges and `n` jumps to the note box, as the help overlay (`?`) says.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.metaKey || event.ctrlKey || event.altKey || isTyping(event.target)) return
      if (event.key === 'a' && incident?.status === 'triggered' && canRespond && !busy) {
        event.preventDefault()
        void act('ack', 'ack')
      } else if (event.key === 'n') {
        event.preventDefault()
        noteRef.current?.focus()
      }
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  })

  if (!incident) {
    return (
      <main className="page incident-page">
        <Link href="/incidents" className="back">
          ← All incidents
        </Link>
        {detail.error ? (
          <p className="form-error">{detail.error}</p>
        ) : (
          <p className="muted">Loading incident {id}…</p>
        )}
      </main>
    )
  }

  const needsResponder = canRespond
    ? undefined
    : `Needs the responder role; you are ${session.role}`
  const needsOperator = canOperate ? undefined : `Needs the operator role; you are ${session.role}`

  const addNote = async (event: FormEvent) => {
    event.preventDefault()
    if (await act('note', 'notes', { text: note, ...(publish ? { public: true } : {}) })) {
      setNote('')
      setPublish(false)
    }
  }

  return (
    <main className="page incident-page" data-incident-page={incident.id}>
      <Link href="/incidents" className="back">
        ← All incidents
      </Link>
      <div className="incident-head">
        <div className="monitor-title">
          <h1>
            <span className="muted">#{incident.id}</span> {incident.title}
          </h1>
          <p className="sub">
            <SeverityTag severity={incident.severity} />{' '}
            {incident.service ? <span className="label">service={incident.service}</span> : null}{' '}
            {incident.team ? <span className="label">team={incident.team}</span> : null} opened{' '}
            <span title={when(incident.createdAt)}>{ago(incident.createdAt, now)}</span>
          </p>
        </div>
        <div data-testid="incident-status">
          <IncidentStatusChip status={incident.status} large />
        </div>
      </div>

      <div className="incident-actions">
        {incident.status === 'triggered' ? (
          <button
            type="button"
            className="button primary ack-button"
            disabled={!canRespond || busy !== undefined}
            title={needsResponder ?? 'Acknowledge (a)'}
            onClick={() => void act('ack', 'ack')}
          >
            {busy === 'ack' ? 'Acknowledging…' : 'Acknowledge'}
          </button>
        ) : null}
        {incident.status !== 'resolved' ? (
          <button
            type="button"
            className="button resolve-button"
            disabled={!canRespond || busy !== undefined}
            title={needsResponder}
            onClick={() => void act('resolve', 'resolve')}
          >
            {busy === 'resolve' ? 'Resolving…' : 'Resolve'}
          </button>
        ) : (
          <button
            type="button"
            className="button"
            disabled={!canRespond || busy !== undefined}
            title={needsResponder}
            onClick={() => void act('reopen', 'reopen')}
          >
            {busy === 'reopen' ? 'Reopening…' : 'Reopen'}
          </button>
        )}
      </div>
      {actionError ? (
        <p className="form-error" role="alert">
          {actionError}
        </p>
      ) : null}

      <section className="facts" aria-label="Summary">
        <div className="fact">
          <span className="fact-label">Status</span>
          <span className="fact-value">{incident.status}</span>
          <span className="fact-sub">
            {incident.resolvedAt
              ? `resolved ${ago(incident.resolvedAt, now)}`
              : incident.acknowledgedAt
                ? `acknowledged ${ago(incident.acknowledgedAt, now)}`
                : `for ${duration(now - incident.createdAt)}`}
          </span>
        </div>
        <div className="fact">
          <span className="fact-label">Assignee</span>
          <span className="fact-value" data-testid="assignee">
            {incident.assignee ?? 'nobody'}
          </span>
          <span className="fact-sub">
            {incident.ackTimeoutAt && incident.status === 'acknowledged'
              ? `ack runs out ${incident.ackTimeoutAt > now ? `in ${duration(incident.ackTimeoutAt - now)}` : 'now'}`
              : ' '}
          </span>
        </div>
        <div className="fact">
          <span className="fact-label">Alerts</span>
          <span className="fact-value">
            {incident.alerts.filter((a) => a.status === 'firing').length} firing
          </span>
          <span className="fact-sub">{incident.alerts.length} linked</span>
        </div>
        <div className="fact">
          <span className="fact-label">Roles</span>
          <span className="fact-value small">
            {incidentRoleNames
              .filter((r) => incident.roles[r])
              .map((r) => `${r}: ${incident.roles[r]}`)
              .join(', ') || 'none set'}
          </span>
        </div>
      </section>

      <div className="two-col">
        <section className="card">
          <div className="card-head">
            <h2>Linked alerts</h2>
          </div>
          {incident.alerts.length === 0 ? <p className="muted">No alerts linked.</p> : null}
          <ul className="alert-list">
            {incident.alerts.map((alert) => (
              <AlertItem
                key={alert.id}
                alert={alert}
                incidentId={incident.id}
                now={now}
                disabledReason={needsOperator}
              />
            ))}
          </ul>
        </section>

        <PeopleCard
          incident={incident}
          disabledReason={needsOperator}
          busy={busy}
          onAct={(name, path, body) => act(name, path, body)}
        />
      </div>

      <section className="card">
        <div className="card-head">
          <h2>Timeline</h2>
          <span className="muted">oldest first</span>
        </div>
        <ol className="history timeline" data-testid="timeline">
          {incident.timeline.map((entry) => (
            <li key={entry.id} data-kind={entry.kind}>
              <span className={`dot dot-${timelineDot(entry.kind)}`} aria-hidden="true" />
              <div>
                <div
                  className={
                    entry.kind === 'note'
                      ? 'timeline-note'
                      : entry.kind === 'publicUpdate'
                        ? 'timeline-note public-update'
                        : undefined
                  }
                >
                  {entry.text}
                </div>
                <div className="muted small">
                  {when(entry.at)} · {entry.by ?? 'Keel'} ·{' '}
                  {entry.kind === 'publicUpdate' ? 'published on the status page' : entry.kind}
                </div>
              </div>
            </li>
          ))}
        </ol>
        <form className="note-form" onSubmit={(e) => void addNote(e)}>
          <label htmlFor="note">Add a note</label>
          <textarea
            id="note"
            ref={noteRef}
            rows={3}
            value={note}
            placeholder="What you found, what you tried (n)"
            onChange={(e) => setNote(e.target.value)}
          />
          <label className="check">
            <input
              type="checkbox"
              checked={publish}
              onChange={(e) => setPublish(e.target.checked)}
            />
            Publish on the status page (the public reads it as written)
          </label>
          <button
            type="submit"
            className="button"
            disabled={!canRespond || busy !== undefined || note.trim() === ''}
            title={needsResponder}
          >
            {busy === 'note' ? 'Adding…' : publish ? 'Publish update' : 'Add note'}
          </button>
        </form>
      </section>

      <section className="card">
        <div className="card-head">
          <h2>Postmortem draft</h2>
          <button
            type="button"
            className="button subtle"
            onClick={() => {
              fetchPostmortem(incident.id)
                .then(setPostmortem)
                .catch((err: unknown) => setPostmortem(`Could not draft it: ${messageOf(err)}`))
            }}
          >
            {postmortem === undefined ? 'Draft it' : 'Draft again'}
          </button>
        </div>
        {postmortem !== undefined ? (
          <pre className="postmortem" data-testid="postmortem">
            {postmortem}
          </pre>
        ) : (
          <p className="muted">
            Markdown built from the timeline, the alerts and the response times; copy it into your
            postmortem document.
          </p>
        )}
      </section>
    </main>
  )
}

function timelineDot(kind: string): string {
  if (kind === 'opened' || kind === 'retriggered' || kind === 'ackTimedOut') return 'down'
  if (kind === 'acknowledged') return 'degraded'
  if (kind === 'resolved' || kind === 'alertResolved') return 'up'
  if (kind === 'note') return 'paused'
  if (kind === 'publicUpdate') return 'pending'
  return 'pending'
}

function AlertItem(props: {
  alert: LinkedAlert
  incidentId: number
  now: number
  disabledReason: string | undefined
}) {
  const { alert, incidentId, now, disabledReason } = props
  const [silence, setSilence] = useState<Silence>()
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const summary = alert.annotations.summary ?? alert.labels.alertname ?? alert.fingerprint
  const silenceIt = async () => {
    setBusy(true)
    setError(undefined)
    try {
      const answer = await api<Silence | { silence: Silence }>(
        `/api/v1/alerts/${encodeURIComponent(alert.fingerprint)}/silence`,
        { method: 'POST', body: { duration: '2h', comment: `From incident #${incidentId}` } },
      )
      // The API answers the silence itself; an answer wrapped as `{ silence }` is read too.
      setSilence('silence' in answer ? answer.silence : answer)
    } catch (err) {
      setError(messageOf(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <li className="alert-item" data-alert={alert.fingerprint} data-status={alert.status}>
      <div className="alert-line">
        <span className={`status-text status-${alert.status === 'firing' ? 'down' : 'up'}`}>
          {alert.status}
        </span>
        <strong className="alert-summary">{summary}</strong>
        <button
          type="button"
          className="button small-button"
          disabled={busy || silence !== undefined || disabledReason !== undefined}
          onClick={() => void silenceIt()}
          title={disabledReason ?? 'Mute notifications for exactly these labels for 2 hours'}
        >
          {silence ? 'Silenced' : busy ? 'Silencing…' : 'Silence 2h'}
        </button>
      </div>
      <div className="labels-line">
        {Object.entries(alert.labels).map(([k, v]) => (
          <span key={k} className="label">
            {k}={v}
          </span>
        ))}
      </div>
      <div className="muted small">
        since {when(alert.startsAt)} ({ago(alert.startsAt, now)}) · {alert.source}
      </div>
      <AlertRunbooks fingerprint={alert.fingerprint} incidentId={incidentId} />
      {silence ? (
        <div className="small" data-testid="silenced">
          Silenced until {when(Date.parse(silence.endsAt))}.{' '}
          <Link href="/silences">See silences</Link>
        </div>
      ) : null}
      {error ? <div className="form-error small">{error}</div> : null}
    </li>
  )
}

/** The runbooks whose `alerts` matchers match this alert: its response procedures. */
function AlertRunbooks(props: { fingerprint: string; incidentId: number }) {
  const found = useApi<{ name: string; title: string }[]>(
    `/api/v1/alerts/${encodeURIComponent(props.fingerprint)}/runbooks`,
  )
  if (!found.data || found.data.length === 0) return null
  return (
    <div className="incident-runbooks" data-testid="alert-runbooks">
      <span className="muted">Runbook: </span>
      {found.data.map((runbook) => (
        <Link
          key={runbook.name}
          href={`/runbooks/${encodeURIComponent(runbook.name)}?incident=${props.incidentId}`}
          data-runbook={runbook.name}
        >
          {runbook.title}
        </Link>
      ))}
    </div>
  )
}

function PeopleCard(props: {
  incident: IncidentDetail
  disabledReason: string | undefined
  busy: string | undefined
  onAct: (name: string, path: string, body: unknown) => Promise<boolean>
}) {
  const { incident, disabledReason, busy, onAct } = props
  const [assignee, setAssignee] = useState(incident.assignee ?? '')
  // Someone else may reassign it meanwhile; the box then shows who has it now.
  useEffect(() => setAssignee(incident.assignee ?? ''), [incident.assignee])
  const [roles, setRoles] = useState<Record<string, string>>(() =>
    Object.fromEntries(incidentRoleNames.map((r) => [r, incident.roles[r] ?? ''])),
  )
  const disabled = disabledReason !== undefined || busy !== undefined
  const reassignRefused =
    incident.status === 'resolved' ? 'Resolved; reopen it before reassigning' : undefined
  return (
    <section className="card people">
      <div className="card-head">
        <h2>People</h2>
      </div>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault()
          void onAct('reassign', 'reassign', { to: assignee.trim() })
        }}
      >
        <label htmlFor="assignee">Assignee</label>
        <input
          id="assignee"
          value={assignee}
          placeholder="user id"
          onChange={(e) => setAssignee(e.target.value)}
        />
        <button
          type="submit"
          className="button"
          disabled={
            disabled ||
            reassignRefused !== undefined ||
            assignee.trim() === '' ||
            assignee.trim() === incident.assignee
          }
          title={disabledReason ?? reassignRefused}
        >
          Reassign
        </button>
      </form>
      <form
        className="roles-form"
        onSubmit={(e) => {
          e.preventDefault()
          const body = Object.fromEntries(
            incidentRoleNames.map((r) => [r, roles[r]?.trim() ? roles[r].trim() : null]),
          )
          void onAct('roles', 'roles', body)
        }}
      >
        {incidentRoleNames.map((role) => (
          <label key={role}>
            <span>{role}</span>
            <input
              value={roles[role] ?? ''}
              onChange={(e) => setRoles((prev) => ({ ...prev, [role]: e.target.value }))}
            />
          </label>
        ))}
        <button type="submit" className="button" disabled={disabled} title={disabledReason}>
          Save roles
        </button>
      </form>
      <label className="inline-form">
        <span>Severity</span>
        <select
          value={incident.severity}
          disabled={disabled}
          title={disabledReason}
          onChange={(e) => void onAct('severity', 'severity', { severity: e.target.value })}
        >
          {incidentSeverities.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
    </section>
  )
}
