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

/** When a view was last touched, to keep the newer of two copies. */
function touchedAt(view: MonitorView): number {
  return Math.max(view.lastCheckedAt ?? 0, view.stateSince, view.updatedAt)
}

const pageSize = 1000
/** Events are applied in batches, so a burst of checks renders once. */
const batchMs = 250

/**
 * Every monitor, kept current by the server's event stream (`/api/v1/events`): the list is read
 * once each time the stream (re)connects, and then only changes arrive. The browser never polls.
 */
export class MonitorStore {
  entries = new Map<string, MonitorEntry>()
  /** Bumped on every change; React re-renders on it. */
  version = 0
  loaded = false
  loadError: string | undefined
  connection: Connection = 'connecting'

  private readonly listeners = new Set<() => void>()
  private source: EventSource | undefined
  private queue = new Map<string, MonitorView | null>()
  private batchTimer: number | undefined
  private retryTimer: number | undefined
  private loadGeneration = 0
  private stopped = false

  /** Opens the stream. */
  start(): void {
    this.stopped = false
    const source = new EventSource('/api/v1/events')
    this.source = source
    source.addEventListener('open', () => {
      this.connection = 'live'
      this.changed()
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
        this.changed()
        api('/api/v1/session')
          .then(() => this.restartSoon())
          .catch(() => {
            window.dispatchEvent(new Event(unauthorizedEvent))
          })
      } else {
        this.connection = 'reconnecting'
        this.changed()
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
    this.apply(view.id, view)
    this.changed()
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  getVersion = (): number => this.version

  private restartSoon(): void {
    clearTimeout(this.retryTimer)
    this.retryTimer = window.setTimeout(() => {
      if (this.stopped) return
      this.source?.close()
      this.start()
    }, 3_000)
  }

  /** Reads every monitor page by page, showing each page as it arrives. */
  private async reload(): Promise<void> {
    const generation = ++this.loadGeneration
    const seen = new Set<string>()
    let after: string | undefined
    try {
      do {
        const query = `limit=${pageSize}${after ? `&after=${encodeURIComponent(after)}` : ''}`
        const page = await api<Page<MonitorView>>(`/api/v1/monitors?${query}`)
        if (generation !== this.loadGeneration) return
        for (const view of page.items) {
          seen.add(view.id)
          this.apply(view.id, view)
        }
        after = page.next
        this.changed()
      } while (after)
      for (const id of [...this.entries.keys()]) if (!seen.has(id)) this.entries.delete(id)
      this.loaded = true
      this.loadError = undefined
    } catch (err) {
      if (generation !== this.loadGeneration) return
      this.loadError = err instanceof Error ? err.message : String(err)
    }
    this.changed()
  }

  private enqueue(id: string, view: MonitorView | null): void {
    this.queue.set(id, view)
    this.batchTimer ??= window.setTimeout(() => {
      this.batchTimer = undefined
      const queue = this.queue
      this.queue = new Map()
      for (const [key, value] of queue) this.apply(key, value)
      this.changed()
    }, batchMs)
  }

  private apply(id: string, view: MonitorView | null): void {
    if (view === null) {
      this.entries.delete(id)
      return
    }
    const existing = this.entries.get(id)
    // A page read while events arrive may carry an older copy than the event already applied.
    if (
      existing &&
      touchedAt(existing.view) > touchedAt(view) &&
      existing.view.version >= view.version
    ) {
      return
    }
    this.entries.set(id, entryOf(view))
  }

  private changed(): void {
    this.version++
    for (const listener of this.listeners) listener()
  }
}

/** Re-renders the caller whenever the store changes; returns the version. */
export function useMonitorStore(store: MonitorStore): number {
  return useSyncExternalStore(store.subscribe, store.getVersion)
}

/** Monitors per state, every state present. */
export function countByState(store: MonitorStore): Record<MonitorState, number> {
  const counts = Object.fromEntries(monitorStates.map((s) => [s, 0])) as Record<
    MonitorState,
    number
  >
  for (const { view } of store.entries.values()) {
    counts[view.state] = (counts[view.state] ?? 0) + 1
  }
  return counts
}
