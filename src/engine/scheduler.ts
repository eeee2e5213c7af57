import type { Logger } from 'pino'
import type { AckLinkSettings } from '../services/ack-links.js'
import {
  parseMonitorSpec,
  runCheck,
  type MonitorSpec,
  type RunCheckOptions,
} from '../checks/registry.js'
import { heartbeatDeadline } from '../checks/heartbeat.js'
import { originOf, type CommandPolicy } from '../checks/command-policy.js'
import { defaultStatePolicy, type CheckOutcome } from '../core/checks/index.js'
import type { Clock } from '../core/time.js'
import type { Db } from '../store/dialect.js'
import {
  claimMonitors,
  getMonitor,
  getMonitorsByIds,
  listMonitorsUpdatedSince,
  releaseMonitorLeases,
  renewMonitorLeases,
  type StoredMonitor,
} from '../store/monitors.js'
import { MinHeap } from './min-heap.js'
import {
  recordOutcomes,
  type PendingOutcome,
  type RecordedMonitor,
  type RecordedTransition,
} from './recorder.js'

/** What the scheduler reports after each check, for metrics. */
export interface CheckObservation {
  monitor: RecordedMonitor
  outcome: CheckOutcome
  /** How late the check started against its schedule, in ms. */
  latenessMs: number
}

/** Options of the scheduler; defaults suit one node with a few thousand monitors. */
export interface SchedulerOptions {
  db: Db
  clock: Clock
  log: Logger
  /** This node's lease owner id; stable across restarts so a restarted node takes its work back. */
  owner: string
  /** Checks running at once, at most. */
  concurrency?: number
  /** Spread first checks over the interval instead of starting them all at once. */
  jitter?: boolean
  leaseMs?: number
  /** How often leases are renewed, new monitors claimed and changed specs reloaded. */
  syncIntervalMs?: number
  /** How often buffered results are written (one transaction per flush). */
  flushIntervalMs?: number
  defaultChannels: () => readonly string[]
  publicUrl?: string
  /** Signs acknowledge/resolve links into monitor notifications of open incidents. */
  links?: AckLinkSettings
  onCheck?: (observation: CheckObservation) => void
  onTransitions?: (transitions: RecordedTransition[]) => void
  /**
   * Where programs of API-created monitors may live (keel.yaml `checks.commandDirs`), read at
   * each check so a reload applies at once; without it such monitors report down, unrun.
   */
  commands?: CommandPolicy
  /** The probe runner; tests and benchmarks use the real one. */
  run?: (spec: MonitorSpec, options: RunCheckOptions) => Promise<CheckOutcome>
}

interface Entry {
  monitor: RecordedMonitor
  spec: MonitorSpec
  /** The row's source: `file:…` for keel.yaml, else the API. */
  source: string
  version: number
  createdAt: number
  dueAt: number
  running: boolean
  /** Bumped when the entry is replaced or removed so a stale heap item is skipped. */
  generation: number
}

interface HeapItem {
  entry: Entry
  dueAt: number
  generation: number
}

/** The facts the recorder needs, taken from a stored monitor and its parsed spec. */
export function recordedMonitor(row: StoredMonitor, spec: MonitorSpec): RecordedMonitor {
  return {
    id: row.id,
    slug: row.slug,
    type: row.type,
    ...(spec.name ? { name: spec.name } : {}),
    severity: spec.severity,
    labels: spec.labels,
    ...(spec.channels ? { channels: spec.channels } : {}),
    policy: { ...defaultStatePolicy, retries: spec.retries, recoveries: spec.recoveries },
  }
}

/**
 * Runs every monitor this node holds a lease on, on its interval. One timer serves a min-heap of
 * due checks, a semaphore bounds concurrency, each check has its own timeout, and results are
 * written in batches, so one slow check or a slow database never delays the others' start.
 */
export class Scheduler {
  private readonly entries = new Map<number, Entry>()
  private readonly heap = new MinHeap<HeapItem>((item) => item.dueAt)
  private readonly waiting: HeapItem[] = []
  private buffer: PendingOutcome[] = []
  private active = 0
  private timer: NodeJS.Timeout | undefined
  private timerAt = Number.POSITIVE_INFINITY
  private syncTimer: NodeJS.Timeout | undefined
  private flushTimer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private lastSync = 0
  private stopped = true
  private readonly controllers = new Set<AbortController>()
  private readonly concurrency: number
  private readonly leaseMs: number
  private readonly syncIntervalMs: number
  private readonly flushIntervalMs: number
  private readonly run: NonNullable<SchedulerOptions['run']>

  constructor(private readonly options: SchedulerOptions) {
    this.concurrency = options.concurrency ?? 512
    this.leaseMs = options.leaseMs ?? 30_000
    this.syncIntervalMs = options.syncIntervalMs ?? 5_000
    this.flushIntervalMs = options.flushIntervalMs ?? 250
    this.run = options.run ?? runCheck
  }

  /** Monitors this node currently runs. */
  get size(): number {
    return this.entries.size
  }

  /** Claims work and starts the timers. */
  async start(): Promise<void> {
    this.stopped = false
    await this.sync()
    this.syncTimer = setInterval(() => void this.syncSafely(), this.syncIntervalMs)
    this.flushTimer = setInterval(() => void this.flush(), this.flushIntervalMs)
  }

  /**
   * Stops taking work, lets running checks finish until `deadlineMs` passes (then aborts them),
   * writes what is buffered and gives the leases back so another node can continue at once.
   */
  async stop(deadlineMs = 5_000): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    clearInterval(this.syncTimer)
    clearInterval(this.flushTimer)
    const until = this.options.clock.now() + deadlineMs
    while (this.active > 0 && this.options.clock.now() < until) await sleep(20)
    for (const controller of this.controllers) controller.abort()
    while (this.active > 0) await sleep(5)
    await this.flush()
    await releaseMonitorLeases(this.options.db, this.options.owner)
  }

  /** Writes buffered results now (also called on a timer). */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing
    if (this.buffer.length === 0) return
    const batch = this.buffer
    this.buffer = []
    this.flushing = (async () => {
      try {
        const transitions = await recordOutcomes(this.options.db, batch, {
          defaultChannels: this.options.defaultChannels(),
          ...(this.options.publicUrl ? { publicUrl: this.options.publicUrl } : {}),
          ...(this.options.links ? { links: this.options.links } : {}),
          now: this.options.clock.now(),
        })
        if (transitions.length > 0) this.options.onTransitions?.(transitions)
      } catch (error) {
        // Keep the batch for the next flush; cap it so a long outage cannot exhaust memory.
        this.options.log.error(
          { err: error, results: batch.length },
          'writing check results failed; will retry',
        )
        this.buffer = [...batch, ...this.buffer].slice(-100_000)
      } finally {
        this.flushing = undefined
      }
    })()
    await this.flushing
  }

  private async syncSafely(): Promise<void> {
    try {
      await this.sync()
    } catch (error) {
      this.options.log.error({ err: error }, 'scheduler sync failed; retrying on the next tick')
    }
  }

  /** Renews leases, drops lost monitors, claims new ones and reloads changed specs. */
  async sync(): Promise<void> {
    const { db, clock, owner } = this.options
    const now = clock.now()
    const held = new Set(await renewMonitorLeases(db, owner, now, this.leaseMs))
    for (const id of this.entries.keys()) if (!held.has(id)) this.remove(id)
    const unknown = [...held].filter((id) => !this.entries.has(id))
    for (const row of await getMonitorsByIds(db, unknown)) this.upsert(row, now)
    for (;;) {
      const claimed = await claimMonitors(db, owner, now, this.leaseMs, 2_000)
      for (const row of claimed) this.upsert(row, now)
      if (claimed.length < 2_000) break
    }
    // A small overlap catches updates committed in the same millisecond as the last sync.
    const changed = await listMonitorsUpdatedSince(db, this.lastSync - 2_000)
    for (const row of changed) {
      const entry = this.entries.get(row.id)
      if (entry && entry.version !== row.version) this.upsert(row, now)
    }
    this.lastSync = now
  }

  private remove(id: number): void {
    const entry = this.entries.get(id)
    if (!entry) return
    entry.generation++
    this.entries.delete(id)
  }

  private upsert(row: StoredMonitor, now: number): void {
    const parsed = parseMonitorSpec(row.spec)
    const previous = this.entries.get(row.id)
    if (previous) previous.generation++
    if (!parsed.ok) {
      this.entries.delete(row.id)
      this.options.log.error(
        { monitor: row.slug, issues: parsed.issues },
        `monitor ${row.slug}: stored spec is invalid; not scheduling it`,
      )
      return
    }
    if (row.paused) {
      this.entries.delete(row.id)
      return
    }
    const spec = parsed.spec
    const entry: Entry = {
      monitor: recordedMonitor(row, spec),
      spec,
      source: row.source,
      version: row.version,
      createdAt: row.createdAt,
      dueAt: this.firstDue(row, spec, now),
      running: previous?.running ?? false,
      generation: (previous?.generation ?? 0) + 1,
    }
    this.entries.set(row.id, entry)
    this.schedule(entry, entry.dueAt)
  }

  private firstDue(row: StoredMonitor, spec: MonitorSpec, now: number): number {
    if (spec.type === 'heartbeat') return heartbeatDeadline(spec, row.lastPingAt, row.createdAt)
    if (row.lastCheckedAt === undefined) {
      // Spread never-checked monitors over their interval so a large apply does not stampede.
      const offset =
        this.options.jitter === false
          ? 0
          : Math.floor(Math.random() * Math.min(spec.interval, 60_000))
      return now + offset
    }
    return Math.max(row.nextDueAt, now)
  }

  private schedule(entry: Entry, dueAt: number): void {
    entry.dueAt = dueAt
    this.heap.push({ entry, dueAt, generation: entry.generation })
    this.arm()
  }

  private arm(): void {
    if (this.stopped) return
    const top = this.heap.peek()
    if (!top) return
    if (this.timer && top.dueAt >= this.timerAt) return
    clearTimeout(this.timer)
    this.timerAt = top.dueAt
    // setTimeout overflows past 2^31-1 ms (about 24.8 days) and would fire at once in a loop.
    const delay = Math.min(Math.max(0, top.dueAt - this.options.clock.now()), 2_147_483_647)
    this.timer = setTimeout(() => this.tick(), delay)
  }

  private tick(): void {
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
    if (this.stopped) return
    const now = this.options.clock.now()
    for (let top = this.heap.peek(); top && top.dueAt <= now; top = this.heap.peek()) {
      this.heap.pop()
      if (top.generation !== top.entry.generation) continue
      if (this.active < this.concurrency) this.launch(top, now)
      else this.waiting.push(top)
    }
    this.arm()
  }

  private launch(item: HeapItem, now: number): void {
    const { entry } = item
    const interval = entry.spec.interval
    // Keep the cadence anchored to the schedule, not to when the check finished.
    const next = item.dueAt + interval > now ? item.dueAt + interval : now + interval
    if (entry.running) {
      this.schedule(entry, next)
      return
    }
    entry.running = true
    this.active++
    const latenessMs = now - item.dueAt
    void this.execute(entry, item, latenessMs, next).finally(() => {
      entry.running = false
      this.active--
      const waiting = this.waiting.shift()
      if (waiting && !this.stopped) {
        if (waiting.generation === waiting.entry.generation)
          this.launch(waiting, this.options.clock.now())
      }
    })
  }

  private async execute(
    entry: Entry,
    item: HeapItem,
    latenessMs: number,
    next: number,
  ): Promise<void> {
    const { clock } = this.options
    if (entry.spec.type === 'heartbeat') {
      await this.checkHeartbeat(entry, item, latenessMs)
      return
    }
    this.schedule(entry, next)
    const controller = new AbortController()
    this.controllers.add(controller)
    const checkedAt = clock.now()
    let outcome: CheckOutcome
    try {
      outcome = await this.run(entry.spec, {
        signal: controller.signal,
        origin: originOf(entry.source, this.options.commands),
      })
    } finally {
      this.controllers.delete(controller)
    }
    if (item.generation !== entry.generation && !this.entries.has(entry.monitor.id)) return
    this.buffer.push({ monitor: entry.monitor, outcome, checkedAt, nextDueAt: next })
    this.options.onCheck?.({ monitor: entry.monitor, outcome, latenessMs })
    if (this.buffer.length >= 2_000) void this.flush()
  }

  /**
   * A heartbeat's timer fires at its deadline. Pings arrive through the API (maybe on another
   * node), so the deadline is re-read from the store before the monitor is declared late.
   */
  private async checkHeartbeat(entry: Entry, item: HeapItem, latenessMs: number): Promise<void> {
    const { db, clock } = this.options
    const row = await getMonitor(db, entry.monitor.slug)
    if (!row || item.generation !== entry.generation) return
    const spec = entry.spec as Extract<MonitorSpec, { type: 'heartbeat' }>
    const now = clock.now()
    const deadline = heartbeatDeadline(spec, row.lastPingAt, row.createdAt)
    if (deadline > now) {
      this.schedule(entry, deadline)
      return
    }
    const outcome = await this.run(spec, {
      signal: new AbortController().signal,
      ...(row.lastPingAt !== undefined ? { lastPingAt: row.lastPingAt } : {}),
    })
    const repeat = spec.interval
    this.schedule(entry, now + repeat)
    this.buffer.push({ monitor: entry.monitor, outcome, checkedAt: now, nextDueAt: now + repeat })
    this.options.onCheck?.({ monitor: entry.monitor, outcome, latenessMs })
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
