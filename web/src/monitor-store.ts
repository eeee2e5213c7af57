import { useSyncExternalStore } from 'react'
import { api, unauthorizedEvent } from './api'
import { labelsOf, targetOf } from './format'
import { monitorStates, type MonitorState, type MonitorView, type Page } from './types'

/** A monitor with what filtering and sorting need, computed once per update. */
export interface MonitorEntry {
  view: MonitorView
  /** Lower-cased name (or id) to sort by. */
  sortKey: string
  /** Lower-cased id, name, type, target and labels, for the search box. */
  haystack: string
  labels: [string, string][]
  target: string
}

/** Fired on `window` with the incident as `detail` when the stream reports an incident change. */
export const incidentEvent = 'keel:incident'

/** Fired on `window` each time the stream (re)connects: pages re-read what they show. */
export const streamOpenEvent = 'keel:stream-open'

/** How the live stream is doing. */
export type Connection = 'connecting' | 'live' | 'reconnecting' | 'offline'

function entryOf(view: MonitorView): MonitorEntry {
  const labels = labelsOf(view.spec)
  const target = targetOf(view.spec)
  const name = view.name ?? view.id
  return {
    view,
    sortKey: name.toLowerCase(),
    haystack: [view.id, name, view.type, target, ...labels.map(([k, v]) => `${k}=${v}`)]
      .join('\n')
      .toLowerCase(),
    labels,
    target,
  }
}

/** Whether two copies of a view with the same version and times show the same thing. */
function sameView(a: MonitorView, b: MonitorView): boolean {
  return (
    a.state === b.state &&
    a.paused === b.paused &&
    a.flapping === b.flapping &&
    a.lastLatencyMs === b.lastLatencyMs &&
    a.lastMessage === b.lastMessage &&
    a.uptime?.last24h === b.uptime?.last24h &&
    a.uptime?.last30d === b.uptime?.last30d &&
    a.uptime?.hours[0]?.start === b.uptime?.hours[0]?.start
  )
}

/** When a view was last touched, to keep the newer of two copies. */
function touchedAt(view: MonitorView): number {
  return Math.max(view.lastCheckedAt ?? 0, view.stateSince, view.updatedAt)
}

const pageSize = 1000
/** The page read while the stream opens only has to fill the window, so it is small and quick. */
const firstPageSize = 200
/** Events are applied in batches, so a burst of checks renders once. */
const batchMs = 250
/** While the rest of the list loads, the page re-renders at most this often. */
const loadRenderMs = 1000
/** How many recent changes `changedSince` remembers. */
const changeLogSize = 32

/** Resolves after the browser has had a chance to paint and handle input. */
function yieldToBrowser(): Promise<void> {
  return new Promise((resolve) => window.setTimeout(resolve, 0))
}

/**
 * Every monitor, kept current by the server's event stream (`/api/v1/events`): the list is read
 * once each time the stream (re)connects, and then only changes arrive. The browser never polls.
 * The first page is also asked for as the stream opens, so the overview paints without waiting
 * for it; the full read after the stream is open then makes the list exact.
 */
export class MonitorStore {
  entries = new Map<string, MonitorEntry>()
  /** Bumped on every change; React re-renders on it. */
  version = 0
  loaded = false
  /**
   * The server's counts by state (`/api/v1/status`), asked for as the stream opens: the header
   * shows them until the whole list is loaded, so a large install never shows partial counts.
   */
  summary: Record<MonitorState, number> | undefined
  loadError: string | undefined
  connection: Connection = 'connecting'

  private readonly listeners = new Set<() => void>()
  private source: EventSource | undefined
  private queue = new Map<string, MonitorView | null>()
  private batchTimer: number | undefined
  private retryTimer: number | undefined
  private loadGeneration = 0
  private pagesRead = 0
  private stopped = false
  /** Ids changed by each recent version; `undefined` ids mean "anything may have changed". */
  private changeLog: { version: number; ids: Set<string> | undefined }[] = []

  /** Opens the stream. */
  start(): void {
    this.stopped = false
    const source = new EventSource('/api/v1/events')
    this.source = source
    if (!this.loaded) {
      void this.prefetch()
      void this.prefetchSummary()
    }
    source.addEventListener('open', () => {
      this.connection = 'live'
      this.changed(new Set())
      void this.reload()
      window.dispatchEvent(new Event(streamOpenEvent))
    })
    source.addEventListener('monitor', (event) => {
      const view = JSON.parse((event as MessageEvent<string>).data) as MonitorView
      this.enqueue(view.id, view)
    })
    source.addEventListener('monitor-deleted', (event) => {
      const { id } = JSON.parse((event as MessageEvent<string>).data) as { id: string }
      this.enqueue(id, null)
    })
    source.addEventListener('incident', (event) => {
      const detail: unknown = JSON.parse((event as MessageEvent<string>).data)
      window.dispatchEvent(new CustomEvent(incidentEvent, { detail }))
    })
    source.addEventListener('unauthorized', () => {
      source.close()
      window.dispatchEvent(new Event(unauthorizedEvent))
    })
    source.addEventListener('error', () => {
      if (this.stopped) return
      if (source.readyState === EventSource.CLOSED) {
        // The server refused the stream (401, restart): find out whether the session is gone.
        this.connection = 'offline'
        this.changed(new Set())
        api('/api/v1/session')
          .then(() => this.restartSoon())
          .catch(() => {
            window.dispatchEvent(new Event(unauthorizedEvent))
          })
      } else {
        this.connection = 'reconnecting'
        this.changed(new Set())
      }
    })
  }

  /** Closes the stream. */
  stop(): void {
    this.stopped = true
    this.source?.close()
    this.source = undefined
    clearTimeout(this.retryTimer)
    clearTimeout(this.batchTimer)
  }

  /** Puts a view the page got from an API answer (pause, resume) into the store at once. */
  upsert(view: MonitorView): void {
    if (this.apply(view.id, view)) this.changed(new Set([view.id]))
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  getVersion = (): number => this.version

  /**
   * The ids changed after `version`, so a list can patch the rows it shows instead of rebuilding;
   * `undefined` when that is unknown (a page of the list was read, or the log is too short).
   */
  changedSince(version: number): Set<string> | undefined {
    if (version === this.version) return new Set()
    const first = this.changeLog[0]
    if (!first || first.version > version + 1) return undefined
    const ids = new Set<string>()
    for (const change of this.changeLog) {
      if (change.version <= version) continue
      if (!change.ids) return undefined
      for (const id of change.ids) ids.add(id)
    }
    return ids
  }

  private restartSoon(): void {
    clearTimeout(this.retryTimer)
    this.retryTimer = window.setTimeout(() => {
      if (this.stopped) return
      this.source?.close()
      this.start()
    }, 3_000)
  }

  /**
   * The first page, asked for as the stream opens and shown unless a page of the full read came
   * first: that read then replaces anything older and drops what it did not see.
   */
  private async prefetch(): Promise<void> {
    const pagesRead = this.pagesRead
    try {
      const page = await api<Page<MonitorView>>(
        `/api/v1/monitors?limit=${firstPageSize}&uptime=true`,
      )
      if (this.stopped || pagesRead !== this.pagesRead) return
      let changed = false
      for (const view of page.items) changed = this.apply(view.id, view) || changed
      if (changed) this.changed(undefined)
    } catch {
      // The full read after the stream opens reports errors.
    }
  }

  /**
   * The counts by state and the monitors that need attention (down first), asked for beside the
   * first page: the worst monitors are painted at once even when they are not on that page.
   */
  private async prefetchSummary(): Promise<void> {
    try {
      const summary = await api<StatusSummary>('/api/v1/status')
      if (this.stopped || this.loaded) return
      const counts = Object.fromEntries(monitorStates.map((s) => [s, 0])) as Record<
        MonitorState,
        number
      >
      for (const state of monitorStates) counts[state] = summary.counts[state] ?? 0
      this.summary = counts
      for (const view of summary.problems) this.apply(view.id, view)
      this.changed(undefined)
    } catch {
      // Counting what has been read is the fallback; the full read reports errors.
    }
  }

  /**
   * Reads every monitor page by page. The next page is asked for before this one is applied,
   * and the list re-renders on the first page and then at most every `loadRenderMs`, yielding
   * to the browser between pages, so rendering never waits for the whole list.
   */
  private async reload(): Promise<void> {
    const generation = ++this.loadGeneration
    const seen = new Set<string>()
    const read = (after: string | undefined) => {
      const page = api<Page<MonitorView>>(
        `/api/v1/monitors?limit=${pageSize}&uptime=true${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      )
      // Awaited below, unless a newer read took over: then its failure is nobody's concern.
      page.catch(() => undefined)
      return page
    }
    let pending: Promise<Page<MonitorView>> | undefined = read(undefined)
    let dirty = false
    let renderedAt = 0
    try {
      while (pending) {
        const page: Page<MonitorView> = await pending
        if (generation !== this.loadGeneration) return
        pending = page.next ? read(page.next) : undefined
        this.pagesRead++
        for (const view of page.items) {
          seen.add(view.id)
          dirty = this.apply(view.id, view) || dirty
        }
        const now = performance.now()
        if (dirty && (renderedAt === 0 || now - renderedAt >= loadRenderMs)) {
          this.changed(undefined)
          dirty = false
          renderedAt = performance.now()
        }
        // A hidden tab runs timers once a second at most: there, nothing waits for a paint anyway.
        if (pending && document.visibilityState === 'visible') await yieldToBrowser()
        if (generation !== this.loadGeneration) return
      }
      for (const id of [...this.entries.keys()]) if (!seen.has(id)) this.entries.delete(id)
      this.loaded = true
      this.loadError = undefined
    } catch (err) {
      if (generation !== this.loadGeneration) return
      this.loadError = err instanceof Error ? err.message : String(err)
    }
    this.changed(undefined)
  }

  private enqueue(id: string, view: MonitorView | null): void {
    this.queue.set(id, view)
    this.batchTimer ??= window.setTimeout(() => {
      this.batchTimer = undefined
      const queue = this.queue
      this.queue = new Map()
      const ids = new Set<string>()
      for (const [key, value] of queue) if (this.apply(key, value)) ids.add(key)
      if (ids.size > 0) this.changed(ids)
    }, batchMs)
  }

  /** Puts one view in (or deletes it); false when the store already had it or something newer. */
  private apply(id: string, incoming: MonitorView | null): boolean {
    if (incoming === null) return this.entries.delete(id)
    const existing = this.entries.get(id)
    // Stream events carry no uptime: the last list read's figures stay until the next one.
    const view =
      incoming.uptime === undefined && existing?.view.uptime !== undefined
        ? { ...incoming, uptime: existing.view.uptime }
        : incoming
    if (existing) {
      const older = touchedAt(existing.view) - touchedAt(view)
      // A page read while events arrive may carry an older copy than the event already applied.
      if (older > 0 && existing.view.version >= view.version) return false
      if (older === 0 && existing.view.version === view.version && sameView(existing.view, view)) {
        return false
      }
    }
    this.entries.set(id, entryOf(view))
    return true
  }

  /** Records what changed (`undefined`: possibly anything) and tells the listeners. */
  private changed(ids: Set<string> | undefined): void {
    this.version++
    this.changeLog.push({ version: this.version, ids })
    if (this.changeLog.length > changeLogSize) this.changeLog.shift()
    for (const listener of this.listeners) listener()
  }
}

/** Re-renders the caller whenever the store changes; returns the version. */
export function useMonitorStore(store: MonitorStore): number {
  return useSyncExternalStore(store.subscribe, store.getVersion)
}

/** What `GET /api/v1/status` answers. */
interface StatusSummary {
  counts: Partial<Record<MonitorState, number>>
  problems: MonitorView[]
}

/**
 * Monitors per state, every state present: the server's counts until the whole list is loaded,
 * then the list's own, kept live by the stream.
 */
export function countByState(store: MonitorStore): Record<MonitorState, number> {
  if (!store.loaded && store.summary) return { ...store.summary }
  const counts = Object.fromEntries(monitorStates.map((s) => [s, 0])) as Record<
    MonitorState,
    number
  >
  for (const { view } of store.entries.values()) {
    counts[view.state] = (counts[view.state] ?? 0) + 1
  }
  return counts
}
