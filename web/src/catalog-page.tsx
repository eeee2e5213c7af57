import { useEffect, useRef, useState } from 'react'
import './catalog.css'
import type { MonitorStore } from './monitor-store'
import { Link, navigate } from './router'
import type { Page, Session } from './types'
import { useApi } from './use-api'
import { EntityPage } from './entity-page'

/** An entity's health, as the catalog API reports it. */
export type EntityHealth = 'up' | 'degraded' | 'down' | 'unknown' | 'maintenance'

/** A catalog entity as `/api/v1/catalog` lists it. */
export interface CatalogEntity {
  id: string
  kind: string
  name?: string
  description?: string
  owner?: string
  tier?: number
  lifecycle?: string
  system?: string
  labels: Record<string, string>
  links: { title?: string; url: string }[]
  dependsOn: string[]
  runbooks: string[]
  source: string
  editable: boolean
  health: EntityHealth
}

const kinds = [
  'service',
  'website',
  'api',
  'database',
  'host',
  'network-device',
  'queue',
  'storage',
  'cloud-resource',
  'endpoint-device',
  'system',
]

// The chip colours of monitor states that mean the same thing.
const chipClass: Record<EntityHealth, string> = {
  up: 'chip-up',
  degraded: 'chip-degraded',
  down: 'chip-down',
  unknown: 'chip-pending',
  maintenance: 'chip-paused',
}

/** An entity's health as a chip; the word is always shown, so colour is never the only cue. */
export function HealthChip(props: { health: EntityHealth; large?: boolean }) {
  return (
    <span
      className={`chip ${chipClass[props.health]}${props.large ? ' chip-large' : ''}`}
      data-health={props.health}
    >
      <span className="chip-dot" aria-hidden="true" />
      {props.health}
    </span>
  )
}

/**
 * Re-counts `version` changes of the monitor store into a slower tick: a diagram re-read per
 * check result would be wasteful, one a second after a burst is enough.
 */
export function useMonitorTick(store: MonitorStore): number {
  const [tick, setTick] = useState(0)
  const timer = useRef<number | undefined>(undefined)
  useEffect(
    () =>
      store.subscribe(() => {
        window.clearTimeout(timer.current)
        timer.current = window.setTimeout(() => setTick((t) => t + 1), 1_000)
      }),
    [store],
  )
  useEffect(() => () => window.clearTimeout(timer.current), [])
  return tick
}

/** The list of catalog entities, filtered by kind and a search box, with each one's health. */
function CatalogList(props: { search: URLSearchParams; store: MonitorStore }) {
  const kind = props.search.get('kind') ?? ''
  const q = props.search.get('q') ?? ''
  const tick = useMonitorTick(props.store)
  const params = new URLSearchParams({ limit: '1000' })
  if (kind) params.set('kind', kind)
  if (q) params.set('q', q)
  const { data, error, reload } = useApi<Page<CatalogEntity>>(`/api/v1/catalog?${params}`)
  useEffect(() => {
    if (tick > 0) reload()
  }, [tick, reload])
  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(props.search)
    if (value) next.set(key, value)
    else next.delete(key)
    navigate(`/catalog${next.toString() ? `?${next}` : ''}`, { replace: true })
  }
  const items = data?.items ?? []
  const down = items.filter((e) => e.health === 'down').length
  return (
    <main className="page catalog-page">
      <div className="page-head">
        <h1>Catalog</h1>
        <span className="muted" data-testid="catalog-count">
          {data ? `${items.length} entities${down > 0 ? `, ${down} down` : ''}` : 'loading…'}
        </span>
      </div>
      <div className="toolbar">
        <select
          aria-label="Filter by kind"
          value={kind}
          onChange={(e) => setFilter('kind', e.target.value)}
        >
          <option value="">All kinds</option>
          {kinds.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <input
          type="search"
          aria-label="Search entities"
          placeholder="Search id or name"
          defaultValue={q}
          onKeyDown={(e) => {
            if (e.key === 'Enter') setFilter('q', e.currentTarget.value)
          }}
          onBlur={(e) => setFilter('q', e.currentTarget.value)}
        />
      </div>
      {error ? (
        <p className="form-error" role="alert">
          Could not load the catalog: {error}
        </p>
      ) : null}
      <div className="card table-scroll">
        <table className="results catalog-table">
          <thead>
            <tr>
              <th>Entity</th>
              <th>Kind</th>
              <th>Health</th>
              <th>Owner</th>
              <th>Tier</th>
              <th>Depends on</th>
            </tr>
          </thead>
          <tbody>
            {items.map((entity) => (
              <tr key={entity.id} data-entity={entity.id}>
                <td>
                  <Link href={`/catalog/${encodeURIComponent(entity.id)}`} className="entity-link">
                    {entity.name ?? entity.id}
                  </Link>
                  {entity.name ? <span className="muted entity-id"> {entity.id}</span> : null}
                </td>
                <td>{entity.kind}</td>
                <td>
                  <HealthChip health={entity.health} />
                </td>
                <td>{entity.owner ?? <span className="muted">-</span>}</td>
                <td>{entity.tier ?? <span className="muted">-</span>}</td>
                <td className="muted">{entity.dependsOn.join(', ') || '-'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {data && items.length === 0 ? (
          <p className="empty">
            {kind || q
              ? 'No entity matches these filters.'
              : 'The catalog is empty. Add entities under catalog: in keel.yaml (docs/catalog.md).'}
          </p>
        ) : null}
      </div>
    </main>
  )
}

/**
 * The catalog pages, or undefined when `pathname` is neither `/catalog` nor `/catalog/:id`; both
 * are also listed in src/api/ui-routes.ts.
 */
export function catalogPage(props: {
  pathname: string
  search: URLSearchParams
  session: Session
  store: MonitorStore
}) {
  const path = props.pathname.replace(/\/+$/, '')
  if (path === '/catalog') return <CatalogList search={props.search} store={props.store} />
  const match = /^\/catalog\/([^/]+)$/.exec(path)
  if (!match) return undefined
  const id = decodeURIComponent(match[1] as string)
  return <EntityPage key={id} id={id} store={props.store} search={props.search} />
}
