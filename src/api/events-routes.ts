import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Clock } from '../core/time.js'
import { monitorView, type MonitorView } from '../services/monitors.js'
import type { Db } from '../store/dialect.js'
import { getMonitorsBySlugs, listMonitorStamps, type MonitorStamp } from '../store/monitors.js'
import { IncidentChangeFeed, type IncidentFeedOptions } from './incident-feed.js'
import { authenticateRequest } from './route-guard.js'
import type { SessionStore } from './session-routes.js'

/** One thing the live stream tells a browser. */
export type MonitorFeedEvent =
  { kind: 'monitor'; view: MonitorView } | { kind: 'monitor-deleted'; id: string }

/** Options of the change feed; the defaults suit production, tests shorten them. */
export interface MonitorFeedOptions {
  /** How often the store is read: 1 s. */
  pollMs?: number
  /**
   * How far before the previous poll a poll looks (60 s): a check is stamped with its start time
   * and written after it ends, and other nodes' clocks may differ a little.
   */
  lookbackMs?: number
  /**
   * Every this many polls (30) every monitor is compared, which catches checks slower than the
   * lookback and deletions.
   */
  fullScanEvery?: number
}

function signature(stamp: MonitorStamp): string {
  return `${stamp.state}|${stamp.stateSince}|${stamp.lastCheckedAt}|${stamp.paused}|${stamp.flapping}|${stamp.version}`
}

/**
 * Watches the store for monitor changes made by any node (checks, state changes, pause, edits)
 * by polling it while anyone listens, and hands each changed monitor's view to every listener.
 * One feed serves all the streams of an API instance, so the store is read once per poll.
 */
export class MonitorChangeFeed {
  private readonly listeners = new Set<(event: MonitorFeedEvent) => void>()
  private seen = new Map<string, string>()
  private timer: NodeJS.Timeout | undefined
  private starting: Promise<void> | undefined
  private polling: Promise<void> | undefined
  private lastPollAt = 0
  private polls = 0
  private readonly pollMs: number
  private readonly lookbackMs: number
  private readonly fullScanEvery: number

  constructor(
    private readonly deps: { db: Db; clock: Clock; log: Logger },
    options: MonitorFeedOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1_000
    this.lookbackMs = options.lookbackMs ?? 60_000
    this.fullScanEvery = options.fullScanEvery ?? 30
  }

  /**
   * Adds a listener and resolves once the feed has its baseline, so that whatever a caller reads
   * afterwards, every later change reaches the listener. Returns the function that removes it.
   */
  async subscribe(listener: (event: MonitorFeedEvent) => void): Promise<() => void> {
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

  /** How many listeners are attached. */
  get size(): number {
    return this.listeners.size
  }

  /** Stops polling and forgets the baseline (the next subscriber takes a new one). */
  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.seen = new Map()
    this.polls = 0
  }

  /** Reads the store once and emits what changed since the previous read. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined))
    return this.polling
  }

  private async pollOnce(): Promise<void> {
    const { db, clock, log } = this.deps
    const baseline = this.polls === 0
    const full = this.polls % this.fullScanEvery === 0
    this.polls++
    const now = clock.now()
    try {
      const stamps = await listMonitorStamps(
        db,
        full ? undefined : this.lastPollAt - this.lookbackMs,
      )
      const changed: string[] = []
      for (const stamp of stamps) {
        const next = signature(stamp)
        if (this.seen.get(stamp.slug) === next) continue
        this.seen.set(stamp.slug, next)
        if (!baseline) changed.push(stamp.slug)
      }
      if (full) {
        const present = new Set(stamps.map((s) => s.slug))
        for (const slug of this.seen.keys()) {
          if (present.has(slug)) continue
          this.seen.delete(slug)
          if (!baseline) this.emit({ kind: 'monitor-deleted', id: slug })
        }
      }
      if (changed.length > 0) {
        for (const row of await getMonitorsBySlugs(db, changed)) {
          this.emit({ kind: 'monitor', view: monitorView(row) })
        }
      }
      this.lastPollAt = now
    } catch (err) {
      // The next poll looks back from the last good one, so nothing is skipped.
      log.warn({ err }, 'live event stream: reading monitor changes failed; retrying')
    }
  }

  private emit(event: MonitorFeedEvent): void {
    for (const listener of this.listeners) listener(event)
  }
}

/** Options of the event stream routes. */
export interface EventsRoutesOptions {
  deps: { db: Db; clock: Clock; log: Logger }
  sessions?: SessionStore
  feed?: MonitorFeedOptions
  /** Options of the incident feed (`event: incident`). */
  incidentFeed?: IncidentFeedOptions
  /** How often a comment keeps proxies from closing an idle stream: 15 s. */
  heartbeatMs?: number
}

/** A stream whose client reads slower than this many buffered bytes is closed; it reconnects. */
const maxBufferedBytes = 4 * 1024 * 1024

/**
 * `GET /api/v1/events`, a Server-Sent Events stream for the web UI: `event: monitor` with the
 * monitor's view whenever one is checked or changes state (on any node), `event:
 * monitor-deleted`, and `event: incident` with an incident that opened or changed. A comment every 15 s keeps it open through proxies and re-checks the
 * caller's credentials, so a logout or a revoked token ends the stream.
 */
export async function eventsRoutes(app: FastifyInstance, options: EventsRoutesOptions) {
  const { deps } = options
  const feed = new MonitorChangeFeed(deps, options.feed)
  const incidentFeed = new IncidentChangeFeed(deps, options.incidentFeed)
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const open = new Set<ServerResponse>()

  // Hijacked streams never end by themselves, and the server waits for them before closing.
  app.addHook('preClose', async () => {
    for (const res of open) res.end()
    feed.stop()
    incidentFeed.stop()
  })

  app.get(
    '/api/v1/events',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Live monitor changes (Server-Sent Events)',
        description:
          'A `text/event-stream`: `event: monitor` with a monitor view as data whenever a monitor is checked or changes, `event: monitor-deleted` with `{ "id" }`, `event: incident` with the incident whenever one opens or changes (status, people, a note, an alert). Read the current list first from `/api/v1/monitors` after the stream opens.',
        tags: ['monitors'],
        response: {
          200: { description: 'The event stream.', type: 'string' },
          406: { description: 'The request did not accept `text/event-stream`.', type: 'object' },
        },
      },
    },
    async (request, reply) => {
      // Only an event-stream client is answered with a stream that never ends (EventSource always
      // asks for one); anything else gets a clear error instead of a hanging request.
      if (!/\btext\/event-stream\b/.test(String(request.headers.accept ?? ''))) {
        return reply.code(406).send({
          error: {
            name: 'NotAcceptable',
            message:
              'GET /api/v1/events is a Server-Sent Events stream: send "Accept: text/event-stream" (curl -N -H "Accept: text/event-stream" ...)',
          },
        })
      }
      reply.hijack()
      const res = reply.raw
      let closed = false
      const stream: { unsubscribe?: () => void; heartbeat?: NodeJS.Timeout } = {}
      const close = () => {
        if (closed) return
        closed = true
        clearInterval(stream.heartbeat)
        stream.unsubscribe?.()
        open.delete(res)
        if (!res.writableEnded) res.end()
      }
      const send = (chunk: string) => {
        if (closed) return
        if (res.writableLength > maxBufferedBytes) {
          request.log.info('live event stream: client too slow, closing its stream')
          close()
          return
        }
        res.write(chunk)
      }
      // The response's close, not the request's: a GET's request closes as soon as it is read.
      res.once('close', close)
      open.add(res)

      const unsubscribe = await feed.subscribe((event) => {
        if (event.kind === 'monitor')
          send(`event: monitor\ndata: ${JSON.stringify(event.view)}\n\n`)
        else send(`event: monitor-deleted\ndata: ${JSON.stringify({ id: event.id })}\n\n`)
      })
      const unsubscribeIncidents = await incidentFeed.subscribe((incident) =>
        send(`event: incident\ndata: ${JSON.stringify(incident)}\n\n`),
      )
      if (closed) {
        unsubscribe()
        unsubscribeIncidents()
        return
      }
      stream.unsubscribe = () => {
        unsubscribe()
        unsubscribeIncidents()
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        // nginx buffers proxied responses unless told not to.
        'x-accel-buffering': 'no',
      })
      send('retry: 3000\n: connected\n\n')
      const heartbeat = setInterval(() => {
        authenticateRequest(
          { ...deps, ...(options.sessions ? { sessions: options.sessions } : {}) },
          request,
        )
          .then(() => send(': heartbeat\n\n'))
          .catch(() => {
            send('event: unauthorized\ndata: {}\n\n')
            close()
          })
      }, heartbeatMs)
      heartbeat.unref()
      stream.heartbeat = heartbeat
    },
  )
}
