import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { DeliveryOutcome } from '../channels/channel.js'
import type { CheckOutcome } from '../core/checks/index.js'
import type { Db } from '../store/dialect.js'
import { listMonitors } from '../store/monitors.js'

/** What the scheduler reports after one check. */
export interface CheckMetricsObservation {
  monitor: { slug: string; type: string }
  outcome: CheckOutcome
  /** How late the check started against its schedule, in ms. */
  latenessMs: number
}

/** Keel's Prometheus metrics: counters fed by the engine, per-monitor gauges read at scrape time. */
export interface KeelMetrics {
  registry: Registry
  observeCheck(observation: CheckMetricsObservation): void
  observeTransitions(list: readonly { transition: { to: string } }[]): void
  observeDelivery(channelSlug: string, outcomeKind: DeliveryOutcome['kind']): void
  /** Lets the per-monitor gauges read the store; until then they are empty. */
  attachStore(db: Db): void
  /** The exposition text and its content type, for `GET /metrics`. */
  scrape(): Promise<{ contentType: string; text: string }>
}

interface MonitorSample {
  slug: string
  type: string
  up: number
  latencySeconds?: number
}

/** Creates Keel's metrics in a registry of their own, so several can live in one process. */
export function createMetrics(): KeelMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'keel_' })

  const checks = new Counter({
    name: 'keel_checks_total',
    help: 'Checks run, by monitor type and observed status.',
    labelNames: ['type', 'status'] as const,
    registers: [registry],
  })
  const checkDuration = new Histogram({
    name: 'keel_check_duration_seconds',
    help: 'How long checks took, by monitor type.',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  })
  const lateness = new Histogram({
    name: 'keel_check_lateness_seconds',
    help: 'How late checks started against their schedule; growth means the scheduler is saturated.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  })
  const notifications = new Counter({
    name: 'keel_notifications_total',
    help: 'Notification delivery attempts, by channel and outcome.',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  })
  const transitions = new Counter({
    name: 'keel_state_transitions_total',
    help: 'Confirmed monitor state changes, by the state entered.',
    labelNames: ['to'] as const,
    registers: [registry],
  })

  let db: Db | undefined
  let loading: Promise<MonitorSample[]> | undefined
  // Both gauges are collected concurrently in one scrape; they share one read of the store.
  const samples = (): Promise<MonitorSample[]> => {
    loading ??= readSamples().finally(() => (loading = undefined))
    return loading
  }
  const readSamples = async (): Promise<MonitorSample[]> => {
    if (!db) return []
    const out: MonitorSample[] = []
    let after: string | undefined
    for (;;) {
      const page = await listMonitors(db, { ...(after ? { after } : {}), limit: 1000 })
      for (const row of page) {
        out.push({
          slug: row.slug,
          type: row.type,
          up: row.runtime.state === 'up' ? 1 : 0,
          ...(row.lastLatencyMs !== undefined ? { latencySeconds: row.lastLatencyMs / 1000 } : {}),
        })
      }
      if (page.length < 1000) return out
      after = page[page.length - 1]?.slug
    }
  }

  new Gauge({
    name: 'keel_monitor_up',
    help: '1 when the monitor’s confirmed state is up, else 0 (down, degraded, pending, paused).',
    labelNames: ['monitor', 'type'] as const,
    registers: [registry],
    async collect() {
      const list = await samples()
      this.reset()
      for (const s of list) this.set({ monitor: s.slug, type: s.type }, s.up)
    },
  })
  new Gauge({
    name: 'keel_monitor_latency_seconds',
    help: 'Latency of the monitor’s last check.',
    labelNames: ['monitor', 'type'] as const,
    registers: [registry],
    async collect() {
      const list = await samples()
      this.reset()
      for (const s of list) {
        if (s.latencySeconds !== undefined) {
          this.set({ monitor: s.slug, type: s.type }, s.latencySeconds)
        }
      }
    },
  })

  return {
    registry,
    observeCheck({ monitor, outcome, latenessMs }) {
      checks.inc({ type: monitor.type, status: outcome.status })
      checkDuration.observe({ type: monitor.type }, outcome.latencyMs / 1000)
      lateness.observe(Math.max(0, latenessMs) / 1000)
    },
    observeTransitions(list) {
      for (const item of list) transitions.inc({ to: item.transition.to })
    },
    observeDelivery(channelSlug, outcomeKind) {
      notifications.inc({ channel: channelSlug, outcome: outcomeKind })
    },
    attachStore(store) {
      db = store
    },
    async scrape() {
      return { contentType: registry.contentType, text: await registry.metrics() }
    },
  }
}
