import { useEffect, useState, type FormEvent } from 'react'
import { api } from './api'
import { when } from './format'
import { roleAllows, type Session } from './types'
import { messageOf } from './use-api'

interface AuditEvent {
  id: number
  at: number
  actor: string
  action: string
  objectType: string
  objectId: string
  source?: string
  details?: unknown
}

interface AuditFilters {
  actor: string
  action: string
  objectType: string
  objectId: string
  since: string
}

const noFilters: AuditFilters = { actor: '', action: '', objectType: '', objectId: '', since: '' }

/** The query string of the filters that are set (`since` as ISO 8601). */
function queryOf(filters: AuditFilters): URLSearchParams {
  const query = new URLSearchParams()
  for (const key of ['actor', 'action', 'objectType', 'objectId'] as const) {
    if (filters[key].trim()) query.set(key, filters[key].trim())
  }
  if (filters.since) {
    const at = new Date(filters.since)
    if (!Number.isNaN(at.getTime())) query.set('since', at.toISOString())
  }
  return query
}

/** The audit trail (admins): filters, newest first, more on demand, and a JSON-lines export. */
export function AuditPage(props: { session: Session }) {
  const [draft, setDraft] = useState<AuditFilters>(noFilters)
  const [applied, setApplied] = useState<AuditFilters>()
  const [items, setItems] = useState<AuditEvent[]>([])
  const [next, setNext] = useState<string>()
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const [open, setOpen] = useState<number>()

  const load = async (filters: AuditFilters, cursor?: string) => {
    setBusy(true)
    setError(undefined)
    try {
      const query = queryOf(filters)
      query.set('limit', '100')
      if (cursor) query.set('before', cursor)
      const page = await api<{ items: AuditEvent[]; next?: string }>(`/api/v1/audit?${query}`)
      setItems((previous) => (cursor ? [...previous, ...page.items] : page.items))
      setNext(page.next)
      setApplied(filters)
    } catch (err) {
      setError(messageOf(err))
    } finally {
      setBusy(false)
    }
  }

  const isAdmin = roleAllows(props.session.role, 'admin')
  useEffect(() => {
    if (isAdmin) void load(noFilters)
    // Loads the first page once; later pages come from the filter form and "Older events".
  }, [isAdmin])

  if (!isAdmin) {
    return (
      <main className="page">
        <h1>Audit trail</h1>
        <p className="muted">Only admins may read the audit trail.</p>
      </main>
    )
  }

  const submit = (event: FormEvent) => {
    event.preventDefault()
    void load(draft)
  }
  const field = (key: keyof AuditFilters, label: string, placeholder: string) => (
    <label className="audit-filter">
      <span className="muted small">{label}</span>
      <input
        type={key === 'since' ? 'datetime-local' : 'search'}
        value={draft[key]}
        placeholder={placeholder}
        onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
      />
    </label>
  )

  return (
    <main className="page audit-page">
      <div className="page-head">
        <h1>Audit trail</h1>
        <a
          className="button"
          href={`/api/v1/audit?${new URLSearchParams([...queryOf(applied ?? noFilters), ['format', 'jsonl']])}`}
          download="keel-audit.jsonl"
        >
          Export JSON lines
        </a>
      </div>
      <form className="toolbar" onSubmit={submit}>
        {field('actor', 'Actor', 'user:alice')}
        {field('action', 'Action', 'monitor.update')}
        {field('objectType', 'Object type', 'monitor')}
        {field('objectId', 'Object id', 'web')}
        {field('since', 'Since', '')}
        <button className="button primary" type="submit" disabled={busy}>
          Filter
        </button>
      </form>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="table-scroll">
        <table className="results" data-testid="audit">
          <thead>
            <tr>
              <th>Time</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Object</th>
              <th>Source</th>
            </tr>
          </thead>
          <tbody>
            {items.map((event) => (
              <tr
                key={event.id}
                onClick={() => setOpen(open === event.id ? undefined : event.id)}
                title="Show details"
              >
                <td>{when(event.at)}</td>
                <td>{event.actor}</td>
                <td>
                  <code>{event.action}</code>
                </td>
                <td>
                  {event.objectType}:{event.objectId}
                  {open === event.id && event.details !== undefined ? (
                    <pre className="small">{JSON.stringify(event.details, null, 2)}</pre>
                  ) : null}
                </td>
                <td>{event.source ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {items.length === 0 && !busy ? <p className="empty muted">No audit events match.</p> : null}
      {next ? (
        <button
          className="button"
          type="button"
          disabled={busy}
          onClick={() => void load(applied ?? noFilters, next)}
        >
          Older events
        </button>
      ) : null}
    </main>
  )
}
