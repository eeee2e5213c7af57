import type { Logger } from 'pino'
import type { Incident } from '../core/incidents/index.js'
import type { Clock } from '../core/time.js'
import type { Db } from '../store/dialect.js'
import { getIncident, listIncidentStamps, type IncidentStamp } from '../store/incidents.js'

/** Options of the incident feed; the defaults suit production, tests shorten them. */
export interface IncidentFeedOptions {
  /** How often the store is read: 1 s. */
  pollMs?: number
  /** How far before the previous poll a poll looks (10 s), for other nodes' clock skew. */
  lookbackMs?: number
}

function signature(stamp: IncidentStamp): string {
  return `${stamp.updatedAt}|${stamp.lastEntryId}`
}

/**
 * Watches the store for incident changes made by any node (opened, acknowledged, a note, an
 * alert attached) while anyone listens, and hands each changed incident to every listener. Every
 * change writes the incident row's `updated_at`, so a poll reads only the recently written rows.
 */
export class IncidentChangeFeed {
  private readonly listeners = new Set<(incident: Incident) => void>()
  private seen = new Map<number, { signature: string; updatedAt: number }>()
  private timer: NodeJS.Timeout | undefined
  private starting: Promise<void> | undefined
  private polling: Promise<void> | undefined
  private lastPollAt: number | undefined
  private readonly pollMs: number
  private readonly lookbackMs: number

  constructor(
    private readonly deps: { db: Db; clock: Clock; log: Logger },
    options: IncidentFeedOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1_000
    this.lookbackMs = options.lookbackMs ?? 10_000
  }

  /** Adds a listener once the feed has its baseline; returns the function that removes it. */
  async subscribe(listener: (incident: Incident) => void): Promise<() => void> {
    this.listeners.add(listener)
    if (!this.timer) {
      this.starting ??= this.poll().then(() => {
        this.timer = setInterval(() => void this.poll(), this.pollMs)
        this.timer.unref()
      })
      const starting = this.starting
      await starting
      if (this.starting === starting) this.starting = undefined
    }
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) this.stop()
    }
  }

  /** Stops polling and forgets the baseline. */
  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.seen = new Map()
    this.lastPollAt = undefined
  }

  /** Reads the store once and emits the incidents that changed since the previous read. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined))
    return this.polling
  }

  private async pollOnce(): Promise<void> {
    const { db, clock, log } = this.deps
    const now = clock.now()
    const baseline = this.lastPollAt === undefined
    const since = (this.lastPollAt ?? now) - this.lookbackMs
    try {
      const changed: number[] = []
      for (const stamp of await listIncidentStamps(db, since)) {
        const next = signature(stamp)
        if (this.seen.get(stamp.id)?.signature === next) continue
        this.seen.set(stamp.id, { signature: next, updatedAt: stamp.updatedAt })
        if (!baseline) changed.push(stamp.id)
      }
      // Rows older than the look-back are never read again, so their stamps can go.
      for (const [id, entry] of this.seen) if (entry.updatedAt < since) this.seen.delete(id)
      for (const id of changed) {
        const incident = await getIncident(db, id)
        if (incident) for (const listener of this.listeners) listener(incident)
      }
      this.lastPollAt = now
    } catch (err) {
      log.warn({ err }, 'live event stream: reading incident changes failed; retrying')
    }
  }
}
