import { useEffect, useMemo, useState } from 'react'
import { api } from './api'
import { ago, when } from './format'
import { IncidentStatusChip, SeverityTag } from './incident-chip'
import { incidentEvent, streamOpenEvent } from './monitor-store'
import {
  incidentSeverities,
  incidentStatuses,
  type Incident,
  type IncidentSeverity,
  type IncidentStatus,
} from './ops-types'
import { Link, navigate } from './router'
import type { Page } from './types'
import { messageOf, useWindowEvent } from './use-api'
import { useNow } from './use-media'

const pageSize = 50

type StatusFilter = IncidentStatus | 'open' | ''

interface Filters {
  status: StatusFilter
  severity: IncidentSeverity | ''
  service: string
}

function filtersOf(search: URLSearchParams): Filters {
  const status = search.get('status') ?? ''
  const severity = search.get('severity') ?? ''
  return {
    status: ['open', ...incidentStatuses].includes(status) ? (status as StatusFilter) : '',
    severity: (incidentSeverities as readonly string[]).includes(severity)
      ? (severity as IncidentSeverity)
      : '',
    service: search.get('service') ?? '',
  }
}

function setFilter(key: keyof Filters, value: string): void {
  const params = new URLSearchParams(location.search)
  if (value) params.set(key, value)
  else params.delete(key)
  const query = params.toString()
  navigate(query ? `/incidents?${query}` : '/incidents', { replace: true })
}

function query(filters: Filters, status: string, limit: number): string {
  const params = new URLSearchParams({ limit: String(limit) })
  if (status) params.set('status', status)
  if (filters.severity) params.set('severity', filters.severity)
  if (filters.service.trim()) params.set('service', filters.service.trim())
  return `/api/v1/incidents?${params}`
}

/**
 * Incidents, open ones first, then the rest newest first with "Show more"; filters live in the
 * URL, and the list is read again whenever the event stream reports an incident change.
 */
export function IncidentsPage(props: { search: URLSearchParams }) {
  const filters = filtersOf(props.search)
  const now = useNow(10_000)
  const [limit, setLimit] = useState(pageSize)
  const [open, setOpen] = useState<Incident[]>([])
  const [rest, setRest] = useState<Incident[]>([])
  const [more, setMore] = useState(false)
  const [error, setError] = useState<string>()
  const [loaded, setLoaded] = useState(false)
  const [tick, setTick] = useState(0)
  const key = `${filters.status}|${filters.severity}|${filters.service}`

  useEffect(() => setLimit(pageSize), [key])

  useEffect(() => {
    const controller = new AbortController()
    const signal = controller.signal
    // "All" shows every open incident on top, then resolved ones a page at a time.
    const openStatus = filters.status === '' ? 'open' : undefined
    const restStatus = filters.status === '' ? 'resolved' : filters.status
    Promise.all([
      openStatus
        ? api<Page<Incident>>(query(filters, openStatus, 1000), { signal })
        : Promise.resolve({ items: [] }),
      api<Page<Incident>>(query(filters, restStatus, limit), { signal }),
    ])
      .then(([first, second]) => {
        setOpen(first.items)
        setRest(second.items)
        setMore(second.next !== undefined)
        setError(undefined)
        setLoaded(true)
      })
      .catch((err: unknown) => {
        if (!signal.aborted) setError(messageOf(err))
      })
    return () => controller.abort()
  }, [key, limit, tick])

  useWindowEvent(incidentEvent, () => setTick((t) => t + 1))
  useWindowEvent(streamOpenEvent, () => setTick((t) => t + 1))

  const rows = useMemo(() => {
    // Open incidents sort worst status first (triggered before acknowledged), then newest.
    const order = (i: Incident) =>
      i.status === 'triggered' ? 0 : i.status === 'acknowledged' ? 1 : 2
    return [...[...open].sort((a, b) => order(a) - order(b) || b.id - a.id), ...rest]
  }, [open, rest])

  const filtered = filters.status !== '' || filters.severity !== '' || filters.service !== ''

  return (
    <main className="page incidents-page">
      <div className="page-head">
        <h1>Incidents</h1>
        <span className="muted" data-testid="incident-count">
          {loaded ? `${open.length} open` : 'loading…'}
        </span>
      </div>
      <div className="toolbar">
        <div className="segmented" role="group" aria-label="Filter by status">
          {(['', 'open', ...incidentStatuses] as StatusFilter[]).map((status) => (
            <button
              key={status || 'all'}
              type="button"
              aria-pressed={filters.status === status}
              onClick={() => setFilter('status', status)}
            >
              {status || 'all'}
            </button>
          ))}
        </div>
        <div className="selects">
          <select
            aria-label="Filter by severity"
            value={filters.severity}
            onChange={(e) => setFilter('severity', e.target.value)}
          >
            <option value="">All severities</option>
            {incidentSeverities.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <input
            type="search"
            aria-label="Filter by service"
            placeholder="Service"
            defaultValue={filters.service}
            onKeyDown={(e) => {
              if (e.key === 'Enter') setFilter('service', e.currentTarget.value)
            }}
            onBlur={(e) => setFilter('service', e.currentTarget.value)}
          />
          {filtered ? (
            <button
              type="button"
              className="link-button"
              onClick={() => navigate('/incidents', { replace: true })}
            >
              Clear filters
            </button>
          ) : null}
        </div>
      </div>
      {error ? (
        <p className="form-error" role="alert">
          Could not load incidents: {error}
        </p>
      ) : null}
      <div className="list-card" role="list" aria-label="Incidents">
        {rows.map((incident) => (
          <IncidentRow key={incident.id} incident={incident} now={now} />
        ))}
        {loaded && rows.length === 0 ? (
          <div className="empty">
            <p>{filtered ? 'No incident matches these filters.' : 'No incidents. All quiet.'}</p>
          </div>
        ) : null}
      </div>
      {more ? (
        <p className="center">
          <button type="button" className="button" onClick={() => setLimit((l) => l + pageSize)}>
            Show more
          </button>
        </p>
      ) : null}
    </main>
  )
}

function IncidentRow(props: { incident: Incident; now: number }) {
  const { incident, now } = props
  return (
    <Link
      href={`/incidents/${incident.id}`}
      className={`irow status-${incident.status}`}
      role="listitem"
      data-incident={incident.id}
      data-status={incident.status}
    >
      <span className="irow-status">
        <IncidentStatusChip status={incident.status} />
      </span>
      <span className="irow-title">
        <span className="name">
          <span className="muted">#{incident.id}</span> {incident.title}
        </span>
        <span className="sub">
          <SeverityTag severity={incident.severity} />
          {incident.service ? <span className="label">service={incident.service}</span> : null}
          {incident.team ? <span className="label">team={incident.team}</span> : null}
          {incident.assignee ? <span className="muted">→ {incident.assignee}</span> : null}
        </span>
      </span>
      <span className="irow-when" title={when(incident.createdAt)}>
        {ago(incident.createdAt, now)}
      </span>
    </Link>
  )
}
