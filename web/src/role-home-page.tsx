import { useEffect, useMemo } from 'react'
import type { CatalogEntity } from './catalog-page'
import { ago, when } from './format'
import { IncidentStatusChip, SeverityTag } from './incident-chip'
import { incidentEvent, useMonitorStore, type MonitorStore } from './monitor-store'
import type { Incident, MaintenanceWindow, OnCallNow } from './ops-types'
import './role-home.css'
import { Link, navigate } from './router'
import type { Page } from './types'
import { useApi, useWindowEvent } from './use-api'
import { useNow } from './use-media'

/** The handbook roles (examples/handbook/roles/), each with a home page at `/home/:role`. */
export const handbookRoles = [
  { id: 'sysadmin', label: 'System administrator' },
  { id: 'dba', label: 'Database administrator' },
  { id: 'network', label: 'Network engineer' },
  { id: 'support', label: 'Support' },
  { id: 'security', label: 'Security' },
  { id: 'sre', label: 'SRE / DevOps' },
  { id: 'cloud', label: 'Cloud engineer' },
  { id: 'automation', label: 'Automation' },
] as const

// A role's teams are the team of the same name, plus the usual other names for it.
const teamAliases: Record<string, string[]> = { sre: ['sre', 'devops', 'platform'] }

const roleKey = 'keel.home.role'

interface RunbookSummary {
  name: string
  title: string
  description?: string
  steps: number
}

/** The teams a role stands for: `?team=a,b` when given, else the role's own name and aliases. */
export function teamsOf(role: string, search: URLSearchParams): string[] {
  const override = (search.get('team') ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
  return override.length > 0 ? override : (teamAliases[role] ?? [role])
}

/** `/home`: pick a role; the last one picked opens straight away. */
export function RoleHomePicker() {
  useEffect(() => {
    const last = window.localStorage.getItem(roleKey)
    if (last && handbookRoles.some((r) => r.id === last)) {
      navigate(`/home/${encodeURIComponent(last)}`, { replace: true })
    }
  }, [])
  return (
    <main className="page role-home">
      <div className="page-head">
        <h1>Home</h1>
        <span className="muted">pick your role to see what needs you now</span>
      </div>
      <RolePicker />
    </main>
  )
}

function RolePicker(props: { current?: string }) {
  return (
    <nav className="role-picker" aria-label="Roles">
      {handbookRoles.map((role) => (
        <Link
          key={role.id}
          href={`/home/${role.id}`}
          className="role-pill"
          aria-current={props.current === role.id ? 'page' : undefined}
          title={role.label}
        >
          {role.id}
        </Link>
      ))}
    </nav>
  )
}

/**
 * `/home/:role`: the role's open incidents, failing monitors of entities its teams own, its
 * runbooks, who is on call and upcoming maintenance, read from the same APIs as the other pages.
 */
export function RoleHomePage(props: {
  role: string
  search: URLSearchParams
  store: MonitorStore
}) {
  const { role, search, store } = props
  useMonitorStore(store)
  const now = useNow(30_000)
  const teams = teamsOf(role, search)
  const teamKey = teams.join(',')
  const known = handbookRoles.find((r) => r.id === role)

  useEffect(() => {
    if (known) window.localStorage.setItem(roleKey, role)
  }, [known, role])

  const incidents = useApi<Page<Incident>>('/api/v1/incidents?status=open&limit=1000')
  useWindowEvent(incidentEvent, () => incidents.reload())
  const catalog = useApi<Page<CatalogEntity>>('/api/v1/catalog?limit=1000')
  const runbooks = useApi<{ runbooks: RunbookSummary[] }>(
    `/api/v1/runbooks?role=${encodeURIComponent(role)}`,
  )
  const oncall = useApi<{ schedules: OnCallNow[] }>('/api/v1/oncall/now')
  const maintenance = useApi<{ windows: MaintenanceWindow[] }>('/api/v1/maintenance')

  const owned = useMemo(() => {
    const wanted = new Set(teamKey.split(','))
    return (catalog.data?.items ?? []).filter((e) => e.owner !== undefined && wanted.has(e.owner))
  }, [catalog.data, teamKey])
  const ownedIds = new Set(owned.map((e) => e.id))
  const teamSet = new Set(teams)

  const monitors = [...store.entries.values()].filter(({ labels }) =>
    labels.some(
      ([k, v]) =>
        (k === 'team' && teamSet.has(v)) ||
        ((k === 'entity' || k === 'service') && ownedIds.has(v)),
    ),
  )
  const failing = monitors
    .filter((m) => m.view.state === 'down' || m.view.state === 'degraded')
    .sort((a, b) => a.view.stateSince - b.view.stateSince)

  const mine = (incidents.data?.items ?? []).filter(
    (i) =>
      (i.team !== undefined && teamSet.has(i.team)) ||
      (i.service !== undefined && ownedIds.has(i.service)),
  )

  const names = [...teams, ...ownedIds, ...monitors.map((m) => m.view.id)]
  const mentions = (text: string) => names.some((n) => text.includes(`"${n}"`))
  const windows = maintenance.data?.windows ?? []
  const upcoming = windows.filter((w) => w.state === 'scheduled' || w.state === 'active')
  const ours = upcoming.filter((w) => w.matchers.some(mentions))

  const schedules = oncall.data?.schedules ?? []
  const teamSchedules = schedules.filter((s) => teams.some((t) => s.schedule.includes(t)))
  const shown = teamSchedules.length > 0 ? teamSchedules : schedules

  return (
    <main className="page role-home" data-role={role}>
      <div className="page-head">
        <h1>{known?.label ?? role}</h1>
        <span className="muted" data-testid="role-teams">
          teams {teams.join(', ')}
        </span>
      </div>
      <RolePicker current={role} />
      {!known ? (
        <p className="form-error">
          `{role}` is not a handbook role; pick one above, or add `?team=` to choose teams.
        </p>
      ) : null}

      <div className="role-grid">
        <section className="card" aria-labelledby="home-incidents" data-testid="home-incidents">
          <div className="card-head">
            <h2 id="home-incidents">Open incidents</h2>
            <span className={`badge${mine.length > 0 ? ' badge-hot' : ''}`}>{mine.length}</span>
          </div>
          {incidents.error ? <p className="form-error">{incidents.error}</p> : null}
          {incidents.data && mine.length === 0 ? (
            <p className="muted">Nothing open for {teams.join(', ')}.</p>
          ) : null}
          <ul className="home-list">
            {mine.map((i) => (
              <li key={i.id} data-incident={i.id}>
                <Link href={`/incidents/${i.id}`} className="home-main">
                  <span className="muted">#{i.id}</span> {i.title}
                </Link>
                <span className="home-meta">
                  <SeverityTag severity={i.severity} /> <IncidentStatusChip status={i.status} />{' '}
                  <span className="muted" title={when(i.createdAt)}>
                    {ago(i.createdAt, now)}
                  </span>
                </span>
              </li>
            ))}
          </ul>
        </section>

        <section className="card" aria-labelledby="home-monitors" data-testid="home-monitors">
          <div className="card-head">
            <h2 id="home-monitors">Failing monitors</h2>
            <span className="muted">
              {failing.length} of {monitors.length}
            </span>
          </div>
          {store.loaded && failing.length === 0 ? (
            <p className="muted">
              {monitors.length === 0 ? 'No monitors of these teams.' : 'All monitors are healthy.'}
            </p>
          ) : null}
          <ul className="home-list">
            {failing.map(({ view }) => (
              <li key={view.id} data-monitor={view.id} data-state={view.state}>
                <Link href={`/monitors/${encodeURIComponent(view.id)}`} className="home-main">
                  <span className={`dot dot-${view.state}`} aria-hidden="true" />{' '}
                  {view.name ?? view.id}
                </Link>
                <span className="home-meta">
                  <span className={`status-text status-${view.state}`}>{view.state}</span>{' '}
                  <span className="muted">
                    for {ago(view.stateSince, now).replace(/ ago$/, '')}
                  </span>
                </span>
              </li>
            ))}
          </ul>
          <p className="small muted">
            {owned.length} owned {owned.length === 1 ? 'entity' : 'entities'} ·{' '}
            <Link href={`/catalog?owner=${encodeURIComponent(teams[0] ?? role)}`}>catalog</Link>
          </p>
        </section>

        <section className="card" aria-labelledby="home-runbooks" data-testid="home-runbooks">
          <div className="card-head">
            <h2 id="home-runbooks">Runbooks</h2>
            <Link href={`/runbooks?role=${encodeURIComponent(role)}`} className="small">
              all
            </Link>
          </div>
          {runbooks.error ? <p className="form-error">{runbooks.error}</p> : null}
          {runbooks.data && runbooks.data.runbooks.length === 0 ? (
            <p className="muted">No runbook names the role {role}.</p>
          ) : null}
          <ul className="home-list">
            {runbooks.data?.runbooks.map((r) => (
              <li key={r.name} data-runbook={r.name}>
                <Link href={`/runbooks/${encodeURIComponent(r.name)}`} className="home-main">
                  {r.title}
                </Link>
                <span className="home-meta muted">{r.description ?? `${r.steps} steps`}</span>
              </li>
            ))}
          </ul>
        </section>

        <section className="card" aria-labelledby="home-oncall" data-testid="home-oncall">
          <div className="card-head">
            <h2 id="home-oncall">On call now</h2>
            <Link href="/oncall" className="small">
              schedules
            </Link>
          </div>
          {oncall.data && shown.length === 0 ? <p className="muted">No schedules.</p> : null}
          <ul className="home-list">
            {shown.map((s) => (
              <li key={s.schedule}>
                <span className="home-main">
                  <strong>{s.user ? (s.name ?? s.user) : 'nobody (gap)'}</strong>
                </span>
                <span className="home-meta muted">
                  {s.schedule}
                  {s.nextHandoff ? ` · hands off ${when(s.nextHandoff)}` : ''}
                </span>
              </li>
            ))}
          </ul>
        </section>

        <section className="card" aria-labelledby="home-maintenance" data-testid="home-maintenance">
          <div className="card-head">
            <h2 id="home-maintenance">Upcoming maintenance</h2>
            <Link href="/maintenance" className="small">
              all
            </Link>
          </div>
          {maintenance.data && ours.length === 0 ? (
            <p className="muted">
              None for these teams
              {upcoming.length > 0 ? ` (${upcoming.length} for others)` : ''}.
            </p>
          ) : null}
          <ul className="home-list">
            {ours.map((w) => (
              <li key={w.id} data-maintenance={w.id}>
                <span className="home-main">
                  {w.title} {w.state === 'active' ? <span className="label">now</span> : null}
                </span>
                <span className="home-meta muted">
                  {w.oneOff
                    ? `${when(Date.parse(w.oneOff.start))} → ${when(Date.parse(w.oneOff.end))}`
                    : w.recurring
                      ? `${w.recurring.days.join(' ')} ${w.recurring.from}–${w.recurring.to}`
                      : ''}
                </span>
              </li>
            ))}
          </ul>
        </section>
      </div>
    </main>
  )
}
