import { memo, useEffect, useMemo, useRef } from 'react'
import { ago, latency } from './format'
import { SearchIcon } from './icons'
import {
  countByState,
  useMonitorStore,
  type MonitorEntry,
  type MonitorStore,
} from './monitor-store'
import { Link, navigate } from './router'
import { StateChip } from './state-chip'
import { UptimeBar } from './uptime-bar'
import { monitorStates, type MonitorState } from './types'
import { useMedia, useNow } from './use-media'
import { VirtualRows } from './virtual-rows'

const severity: Record<MonitorState, number> = {
  down: 0,
  degraded: 1,
  pending: 2,
  up: 3,
  paused: 4,
}

type SortOrder = 'state' | 'name' | 'checked'

interface Filters {
  state: MonitorState | undefined
  type: string
  label: string
  q: string
  sort: SortOrder
}

function filtersOf(search: URLSearchParams): Filters {
  const state = search.get('state')
  const sort = search.get('sort')
  return {
    state: monitorStates.includes(state as MonitorState) ? (state as MonitorState) : undefined,
    type: search.get('type') ?? '',
    label: search.get('label') ?? '',
    q: search.get('q') ?? '',
    sort: sort === 'name' || sort === 'checked' ? sort : 'state',
  }
}

/** Changes one filter in the URL, so filters survive a reload and the back button. */
function setFilter(key: keyof Filters, value: string | undefined): void {
  const params = new URLSearchParams(location.search)
  if (value) params.set(key, value)
  else params.delete(key)
  const query = params.toString()
  navigate(query ? `/?${query}` : '/', { replace: true })
}

function matches(entry: MonitorEntry, filters: Filters, terms: string[]): boolean {
  const { view } = entry
  if (filters.state && view.state !== filters.state) return false
  if (filters.type && view.type !== filters.type) return false
  if (filters.label) {
    const eq = filters.label.indexOf('=')
    const key = filters.label.slice(0, eq)
    const value = filters.label.slice(eq + 1)
    if (!entry.labels.some(([k, v]) => k === key && v === value)) return false
  }
  return terms.every((term) => entry.haystack.includes(term))
}

function compare(order: SortOrder): (a: MonitorEntry, b: MonitorEntry) => number {
  const byName = (a: MonitorEntry, b: MonitorEntry) =>
    a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : a.view.id < b.view.id ? -1 : 1
  if (order === 'name') return byName
  if (order === 'checked') {
    return (a, b) => (b.view.lastCheckedAt ?? 0) - (a.view.lastCheckedAt ?? 0) || byName(a, b)
  }
  return (a, b) => severity[a.view.state] - severity[b.view.state] || byName(a, b)
}

/** The overview's rows and select options, derived from the store and kept between renders. */
interface Listing {
  version: number
  sort: SortOrder
  /** Every monitor in `sort` order, and each one's position in it. */
  sorted: MonitorEntry[]
  sortedAt: Map<string, number>
  filterKey: string
  /** The monitors that pass the filters, in `sort` order, and each one's position. */
  shown: MonitorEntry[]
  shownAt: Map<string, number>
  types: string[]
  labelOptions: string[]
  known: Set<string>
}

const noLabels: string[] = []

/** Above this many changed monitors, one rebuild is cheaper than patching each. */
const patchLimit = 1000

function positions(entries: MonitorEntry[]): Map<string, number> {
  const at = new Map<string, number>()
  entries.forEach((entry, index) => at.set(entry.view.id, index))
  return at
}

function filterKeyOf(filters: Filters): string {
  return [filters.state ?? '', filters.type, filters.label, filters.q].join('\n')
}

function termsOf(filters: Filters): string[] {
  return filters.q.toLowerCase().split(/\s+/).filter(Boolean)
}

/** Whether the select options already offer what this monitor needs. */
function offered(listing: Listing, entry: MonitorEntry): boolean {
  return (
    listing.known.has(`type:${entry.view.type}`) &&
    entry.labels.every(([k, v]) => listing.known.has(`label:${k}=${v}`))
  )
}

/** `previous` when it holds the same strings, so a memoised select is not rebuilt. */
function reuse(previous: string[] | undefined, next: string[]): string[] {
  return previous?.length === next.length && previous.every((v, i) => v === next[i])
    ? previous
    : next
}

function rebuild(store: MonitorStore, filters: Filters, previous: Listing | undefined): Listing {
  const sorted = [...store.entries.values()].sort(compare(filters.sort))
  const types = new Set<string>()
  const labels = new Set<string>()
  for (const entry of sorted) {
    types.add(entry.view.type)
    for (const [k, v] of entry.labels) labels.add(`${k}=${v}`)
  }
  const known = new Set([
    ...[...types].map((t) => `type:${t}`),
    ...[...labels].map((l) => `label:${l}`),
  ])
  const terms = termsOf(filters)
  const shown = sorted.filter((e) => matches(e, filters, terms))
  return {
    version: store.version,
    sort: filters.sort,
    sorted,
    sortedAt: positions(sorted),
    filterKey: filterKeyOf(filters),
    shown,
    shownAt: positions(shown),
    types: reuse(previous?.types, [...types].sort()),
    labelOptions: reuse(previous?.labelOptions, [...labels].sort()),
    known,
  }
}

function refilter(listing: Listing, filters: Filters): Listing {
  const terms = termsOf(filters)
  const shown = listing.sorted.filter((e) => matches(e, filters, terms))
  return { ...listing, filterKey: filterKeyOf(filters), shown, shownAt: positions(shown) }
}

/**
 * The rows to show. A live update usually changes a monitor's latency or check time and not its
 * place, so the changed monitors are swapped in where they stand; only a move, a new or deleted
 * monitor, or a page of the list being read costs a re-sort (and only a filter change a re-filter).
 */
function listingOf(store: MonitorStore, filters: Filters, previous: Listing | undefined): Listing {
  if (!previous || previous.sort !== filters.sort) return rebuild(store, filters, previous)
  let listing = previous
  if (previous.version !== store.version) {
    const ids = store.changedSince(previous.version)
    if (!ids || ids.size > patchLimit) return rebuild(store, filters, previous)
    const byOrder = compare(filters.sort)
    const sorted = previous.sorted.slice()
    let shown: MonitorEntry[] | undefined = previous.shown.slice()
    const terms = termsOf(filters)
    for (const id of ids) {
      const entry = store.entries.get(id)
      const at = previous.sortedAt.get(id)
      if (!entry || at === undefined || !offered(previous, entry))
        return rebuild(store, filters, previous)
      const before = sorted[at - 1]
      const after = sorted[at + 1]
      if ((before && byOrder(before, entry) > 0) || (after && byOrder(entry, after) > 0)) {
        return rebuild(store, filters, previous)
      }
      sorted[at] = entry
      const shownAt = previous.shownAt.get(id)
      const match = matches(entry, filters, terms)
      if (shown && shownAt !== undefined && match) shown[shownAt] = entry
      else if (shownAt !== undefined || match) shown = undefined
    }
    listing = { ...previous, version: store.version, sorted }
    if (shown && previous.filterKey === filterKeyOf(filters)) return { ...listing, shown }
    return refilter(listing, filters)
  }
  return listing.filterKey === filterKeyOf(filters) ? listing : refilter(listing, filters)
}

/** Every monitor, filtered and searched, live. */
export function OverviewPage(props: { store: MonitorStore; search: URLSearchParams }) {
  const { store } = props
  const version = useMonitorStore(store)
  const filters = filtersOf(props.search)
  const now = useNow(5_000)
  const phone = useMedia('(max-width: 700px)')
  const searchRef = useRef<HTMLInputElement>(null)

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== '/' || event.metaKey || event.ctrlKey || event.altKey) return
      const target = event.target as HTMLElement | null
      if (
        target &&
        (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))
      ) {
        return
      }
      event.preventDefault()
      searchRef.current?.focus()
      searchRef.current?.select()
    }
    document.addEventListener('keydown', onKey)
    return () => document.removeEventListener('keydown', onKey)
  }, [])

  const listingRef = useRef<Listing | undefined>(undefined)
  const listing = useMemo(() => {
    const next = listingOf(store, filters, listingRef.current)
    listingRef.current = next
    return next
    // `filters` is rebuilt from the URL on each render: its fields are the dependencies.
  }, [store, version, filters.state, filters.type, filters.label, filters.q, filters.sort])
  const { shown, types } = listing
  // Offered once the list is complete: while it loads, each page would add options to rebuild.
  const labelOptions = store.loaded
    ? listing.labelOptions
    : filters.label
      ? [filters.label]
      : noLabels
  const total = store.entries.size
  const counts = useMemo(() => countByState(store), [store, version])
  // One option per label value can mean tens of thousands of options: rebuilt only when they change.
  const selects = useMemo(
    () => (
      <>
        <select
          aria-label="Filter by type"
          value={filters.type}
          onChange={(e) => setFilter('type', e.target.value)}
        >
          <option value="">All types</option>
          {types.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
        {/* Keyed by the option count, so a long new list is built off-page and inserted at once:
            React inserts new siblings one by one, each a walk over the rest (quadratic). */}
        <select
          key={labelOptions.length}
          aria-label="Filter by label"
          value={filters.label}
          onChange={(e) => setFilter('label', e.target.value)}
        >
          <option value="">All labels</option>
          {labelOptions.map((label) => (
            <option key={label} value={label}>
              {label}
            </option>
          ))}
        </select>
      </>
    ),
    [types, labelOptions, filters.type, filters.label],
  )

  const filtered =
    filters.state !== undefined || filters.type !== '' || filters.label !== '' || filters.q !== ''

  return (
    <main className="page overview">
      <div className="toolbar">
        <div className="search">
          <SearchIcon />
          <input
            ref={searchRef}
            type="search"
            aria-label="Search monitors"
            placeholder="Search by name, id, URL or label"
            value={filters.q}
            onChange={(e) => setFilter('q', e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                setFilter('q', undefined)
                e.currentTarget.blur()
              }
            }}
          />
          <kbd title="Press / to search">/</kbd>
        </div>
        <div className="segmented" role="group" aria-label="Filter by state">
          <button
            type="button"
            aria-pressed={filters.state === undefined}
            onClick={() => setFilter('state', undefined)}
          >
            All <span className="n">{total}</span>
          </button>
          {monitorStates.map((state) => (
            <button
              key={state}
              type="button"
              data-state={state}
              aria-pressed={filters.state === state}
              onClick={() => setFilter('state', filters.state === state ? undefined : state)}
            >
              <span className={`dot dot-${state}`} aria-hidden="true" />
              {state} <span className="n">{counts[state]}</span>
            </button>
          ))}
        </div>
        <div className="selects">
          {selects}
          <select
            aria-label="Sort"
            value={filters.sort}
            onChange={(e) =>
              setFilter('sort', e.target.value === 'state' ? undefined : e.target.value)
            }
          >
            <option value="state">Worst first</option>
            <option value="name">Name</option>
            <option value="checked">Last checked</option>
          </select>
        </div>
      </div>

      <div className="summary-line" aria-live="polite">
        {store.loaded || total > 0 ? (
          <>
            <span data-testid="shown-count">
              {shown.length === total
                ? `${total.toLocaleString()} monitor${total === 1 ? '' : 's'}`
                : `${shown.length.toLocaleString()} of ${total.toLocaleString()} monitors`}
            </span>
            {filtered ? (
              <button
                type="button"
                className="link-button"
                onClick={() => navigate('/', { replace: true })}
              >
                Clear filters
              </button>
            ) : null}
            {!store.loaded ? <span className="muted">loading…</span> : null}
            <Link href="/monitors/new" className="new-monitor">
              + New monitor
            </Link>
          </>
        ) : store.loadError ? (
          <span className="form-error">Could not load monitors: {store.loadError}</span>
        ) : (
          <span className="muted">Loading monitors…</span>
        )}
      </div>

      <div className="monitor-table">
        <div className="thead" aria-hidden="true">
          <div className="mrow head">
            <span>State</span>
            <span>Monitor</span>
            <span>Type</span>
            <span className="num">Latency</span>
            <span title="Each bar is one of the last 24 hours; the figure is the last 30 days">
              Uptime 24 h · 30 d
            </span>
            <span>Checked</span>
            <span>Labels</span>
          </div>
        </div>
        {store.loaded && total === 0 ? (
          <div className="empty">
            <p>No monitors yet.</p>
            <p className="muted">
              Declare them under <code>monitors:</code> in keel.yaml and run <code>keel apply</code>
              , or create them with <code>POST /api/v1/monitors</code>.
            </p>
          </div>
        ) : total > 0 && shown.length === 0 ? (
          <div className="empty">
            <p>No monitor matches these filters.</p>
            <button
              type="button"
              className="button"
              onClick={() => navigate('/', { replace: true })}
            >
              Clear filters
            </button>
          </div>
        ) : (
          <VirtualRows
            items={shown}
            label="Monitors"
            rowHeight={phone ? 68 : 48}
            rowKey={(e) => e.view.id}
            renderRow={(entry) => <MonitorRow entry={entry} now={now} />}
          />
        )}
      </div>
    </main>
  )
}

/** One row; memoised, so a live update re-renders only the rows whose monitor changed. */
const MonitorRow = memo(function MonitorRow(props: { entry: MonitorEntry; now: number }) {
  const { view, labels, target } = props.entry
  return (
    <Link
      href={`/monitors/${encodeURIComponent(view.id)}`}
      className={`mrow state-${view.state}`}
      data-monitor={view.id}
      data-state={view.state}
    >
      <span className="cell-state">
        <StateChip state={view.state} flapping={view.flapping} />
      </span>
      <span className="cell-name">
        <span className="name">{view.name ?? view.id}</span>
        <span className="sub">{target || view.id}</span>
      </span>
      <span
        className="cell-type"
        data-latency={view.lastLatencyMs !== undefined ? ` · ${latency(view.lastLatencyMs)}` : ''}
      >
        {view.type}
      </span>
      <span className="cell-latency num">{latency(view.lastLatencyMs)}</span>
      <span className="cell-uptime">
        <UptimeBar uptime={view.uptime} />
      </span>
      <span
        className="cell-checked"
        title={view.lastCheckedAt ? new Date(view.lastCheckedAt).toLocaleString() : undefined}
      >
        {ago(view.lastCheckedAt, props.now)}
      </span>
      <span className="cell-labels">
        {labels.map(([k, v]) => (
          <span key={k} className="label">
            {k}={v}
          </span>
        ))}
      </span>
    </Link>
  )
})
