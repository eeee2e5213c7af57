import { useEffect, useState } from 'react'
import { HealthChip, useMonitorTick, type CatalogEntity, type EntityHealth } from './catalog-page'
import type { MonitorStore } from './monitor-store'
import { Link, navigate } from './router'
import { SafeLink } from './safe-link'
import { StateChip } from './state-chip'
import type { MonitorState } from './types'
import { useApi } from './use-api'

interface Neighbour {
  id: string
  name: string
  kind: string
  health: EntityHealth
}

interface EntityDetail extends CatalogEntity {
  monitors: { id: string; name: string; type: string; state: MonitorState; lastMessage?: string }[]
  dependencies: Neighbour[]
  dependents: Neighbour[]
  openIncidents: { id: number; title: string; status: string; severity: string }[]
  firingAlerts: { fingerprint: string; summary: string; startsAt: number }[]
}

interface Impact {
  entity: string
  affected: (Neighbour & { depth: number; path: string[] })[]
}

const depths = [1, 2, 3, 4, 5]

function NeighbourList(props: { items: Neighbour[]; empty: string; label: string }) {
  if (props.items.length === 0) return <p className="muted">{props.empty}</p>
  return (
    <ul className="entity-list" aria-label={props.label}>
      {props.items.map((n) => (
        <li key={n.id}>
          <Link href={`/catalog/${encodeURIComponent(n.id)}`}>{n.name}</Link>{' '}
          <span className="muted">{n.kind}</span> <HealthChip health={n.health} />
        </li>
      ))}
    </ul>
  )
}

/** The live diagram: the SVG endpoint as an image, re-read when monitors change. */
function Diagram(props: { id: string; depth: number; tick: number; name: string }) {
  const base = `/api/v1/catalog/${encodeURIComponent(props.id)}/diagram`
  const [copied, setCopied] = useState<string>()
  const [mermaid, setMermaid] = useState<string>()
  const copy = async () => {
    try {
      const text = await fetch(`${base}.mmd?depth=${props.depth}`, {
        credentials: 'same-origin',
      }).then((r) => r.text())
      setMermaid(text)
      await navigator.clipboard.writeText(text)
      setCopied('Mermaid text copied')
    } catch {
      // Without clipboard access (plain http, permissions) the text is shown to copy by hand.
      setCopied('Select the text below to copy it')
    }
  }
  return (
    <section className="card diagram-card" aria-labelledby="diagram-title">
      <div className="card-head">
        <h2 id="diagram-title">Dependency diagram</h2>
        <span className="muted">
          arrows point to what an entity depends on; colours are live health
        </span>
        <div className="diagram-actions">
          <label>
            Depth{' '}
            <select
              value={props.depth}
              onChange={(e) =>
                navigate(`/catalog/${encodeURIComponent(props.id)}?depth=${e.target.value}`, {
                  replace: true,
                })
              }
            >
              {depths.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </label>
          <a
            className="button subtle"
            href={`${base}.svg?depth=${props.depth}`}
            download={`${props.id}-dependencies.svg`}
          >
            Download SVG
          </a>
          <button type="button" className="button subtle" onClick={() => void copy()}>
            Copy Mermaid
          </button>
        </div>
      </div>
      {copied ? (
        <p className="muted" role="status">
          {copied}
        </p>
      ) : null}
      <div className="diagram-frame">
        <img
          src={`${base}.svg?depth=${props.depth}&v=${props.tick}`}
          alt={`Dependency diagram of ${props.name}, ${props.depth} links each way`}
          data-testid="entity-diagram"
        />
      </div>
      {mermaid ? (
        <details open>
          <summary>Mermaid text</summary>
          <pre className="mermaid-text">{mermaid}</pre>
        </details>
      ) : null}
    </section>
  )
}

/** One catalog entity: its fields, monitors' health, what it needs, what it affects, its diagram. */
export function EntityPage(props: { id: string; store: MonitorStore; search: URLSearchParams }) {
  const { id } = props
  const depth = Math.min(5, Math.max(1, Number(props.search.get('depth') ?? 2) || 2))
  const tick = useMonitorTick(props.store)
  const encoded = encodeURIComponent(id)
  const entity = useApi<EntityDetail>(`/api/v1/catalog/${encoded}`)
  const impact = useApi<Impact>(`/api/v1/catalog/${encoded}/impact`)
  const { reload: reloadEntity } = entity
  const { reload: reloadImpact } = impact
  useEffect(() => {
    if (tick === 0) return
    reloadEntity()
    reloadImpact()
  }, [tick, reloadEntity, reloadImpact])

  if (entity.error && !entity.data) {
    return (
      <main className="page">
        <h1>{id}</h1>
        <p className="form-error" role="alert">
          {entity.error}. <Link href="/catalog">Back to the catalog</Link>
        </p>
      </main>
    )
  }
  const e = entity.data
  if (!e) return <main className="page" aria-busy="true" />
  const affected = impact.data?.affected ?? []
  return (
    <main className="page entity-page">
      <p className="crumbs">
        <Link href="/catalog">Catalog</Link> / {e.id}
      </p>
      <div className="page-head">
        <h1>{e.name ?? e.id}</h1>
        <HealthChip health={e.health} large />
        <span className="muted">
          {e.kind}
          {e.owner ? ` · owned by ${e.owner}` : ''}
          {e.tier ? ` · tier ${e.tier}` : ''}
          {e.lifecycle ? ` · ${e.lifecycle}` : ''}
        </span>
      </div>
      {e.description ? <p className="entity-description">{e.description}</p> : null}
      <div className="entity-grid">
        <section className="card" aria-labelledby="monitors-title">
          <div className="card-head">
            <h2 id="monitors-title">Monitors</h2>
            <span className="muted">
              labelled entity={e.id} or service={e.id}
            </span>
          </div>
          {e.monitors.length === 0 ? (
            <p className="muted">No monitor is attached; its health is unknown.</p>
          ) : (
            <ul className="entity-list">
              {e.monitors.map((m) => (
                <li key={m.id}>
                  <Link href={`/monitors/${encodeURIComponent(m.id)}`}>{m.name}</Link>{' '}
                  <StateChip state={m.state} />
                  {m.lastMessage && m.state !== 'up' ? (
                    <span className="muted entity-message"> {m.lastMessage}</span>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="card" aria-labelledby="trouble-title" data-testid="entity-trouble">
          <div className="card-head">
            <h2 id="trouble-title">Open incidents and firing alerts</h2>
          </div>
          {e.openIncidents.length === 0 && e.firingAlerts.length === 0 ? (
            <p className="muted">Nothing open or firing names {e.id}.</p>
          ) : (
            <ul className="entity-list">
              {e.openIncidents.map((i) => (
                <li key={`incident-${i.id}`} data-incident={i.id}>
                  <Link href={`/incidents/${i.id}`}>
                    #{i.id} {i.title}
                  </Link>{' '}
                  <span className="muted">
                    {i.status} · {i.severity}
                  </span>
                </li>
              ))}
              {e.firingAlerts.map((a) => (
                <li key={`alert-${a.fingerprint}`} data-alert={a.fingerprint}>
                  {a.summary}{' '}
                  <span className="muted">
                    firing since {new Date(a.startsAt).toLocaleString()}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="card" aria-labelledby="impact-title">
          <div className="card-head">
            <h2 id="impact-title">If {e.name ?? e.id} is down</h2>
            <span className="muted">{affected.length} affected</span>
          </div>
          {affected.length === 0 ? (
            <p className="muted">Nothing depends on it.</p>
          ) : (
            <ul className="entity-list" aria-label="Affected entities" data-testid="impact-list">
              {affected.map((a) => (
                <li key={a.id}>
                  <Link href={`/catalog/${encodeURIComponent(a.id)}`}>{a.name}</Link>{' '}
                  <HealthChip health={a.health} />{' '}
                  <span className="muted">
                    {a.depth === 1
                      ? 'directly'
                      : `via ${a.path.slice(1, -1).reverse().join(' → ')}`}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="card" aria-labelledby="deps-title">
          <div className="card-head">
            <h2 id="deps-title">Depends on</h2>
          </div>
          <NeighbourList items={e.dependencies} empty="Nothing." label="Dependencies" />
          <h2 className="subhead">Needed by</h2>
          <NeighbourList items={e.dependents} empty="Nothing." label="Dependents" />
        </section>
        <section className="card" aria-labelledby="about-title">
          <div className="card-head">
            <h2 id="about-title">About</h2>
          </div>
          <dl className="entity-facts">
            <dt>Source</dt>
            <dd>
              {e.source.replace(/^file:/, '')}
              {e.editable ? null : (
                <span className="muted"> (read-only: change it in the file)</span>
              )}
            </dd>
            {e.system ? (
              <>
                <dt>System</dt>
                <dd>
                  <Link href={`/catalog/${encodeURIComponent(e.system)}`}>{e.system}</Link>
                </dd>
              </>
            ) : null}
            {e.runbooks.length > 0 ? (
              <>
                <dt>Runbooks</dt>
                <dd>{e.runbooks.join(', ')}</dd>
              </>
            ) : null}
            {Object.keys(e.labels).length > 0 ? (
              <>
                <dt>Labels</dt>
                <dd>
                  {Object.entries(e.labels)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(', ')}
                </dd>
              </>
            ) : null}
            {e.links.map((link) => (
              <div key={link.url} className="entity-fact-row">
                <dt>Link</dt>
                <dd>
                  <SafeLink url={link.url}>{link.title ?? link.url}</SafeLink>
                </dd>
              </div>
            ))}
          </dl>
        </section>
      </div>
      <Diagram id={e.id} depth={depth} tick={tick} name={e.name ?? e.id} />
    </main>
  )
}
