import { useEffect, useMemo, useState } from 'react'
import type uPlot from 'uplot'
import { api, ApiError } from './api'
import { ago, duration, labelsOf, latency, targetOf, when } from './format'
import { LatencyChart, type ChartSeries } from './latency-chart'
import { useMonitorStore, type MonitorStore } from './monitor-store'
import { Link } from './router'
import { StateChip } from './state-chip'
import type { Theme } from './theme'
import {
  roleAllows,
  type CheckNowOutcome,
  type CheckResult,
  type MonitorRules,
  type MonitorRunbook,
  type MonitorState,
  type MonitorView,
  type Page,
  type Rollup,
  type Session,
  type StateChange,
} from './types'
import { useApi } from './use-api'
import { useNow } from './use-media'

const rollupSeries: ChartSeries[] = [
  { label: 'p50', color: '--chart-1' },
  { label: 'p95', color: '--chart-2' },
  { label: 'max', color: '--chart-3' },
]
const hourMs = 3_600_000
const dayMs = 24 * hourMs

/** The chart's time ranges; each reads the roll-ups whose bucket suits its span. */
const ranges = [
  { label: '6 h', resolution: 'm', unit: 'per-minute', bucketMs: 60_000, spanMs: 6 * hourMs },
  { label: '24 h', resolution: 'h', unit: 'hourly', bucketMs: hourMs, spanMs: dayMs },
  { label: '7 d', resolution: 'h', unit: 'hourly', bucketMs: hourMs, spanMs: 7 * dayMs },
  { label: '90 d', resolution: 'd', unit: 'daily', bucketMs: dayMs, spanMs: 90 * dayMs },
] as const

type ChartRange = (typeof ranges)[number]

const rawSeries: ChartSeries[] = [
  { label: 'latency', color: '--chart-1' },
  { label: 'failed', color: '--down', pointsOnly: true },
]

/** Loads a list from the API again whenever `key` changes; keeps the last good answer. */
function useList<T>(url: string, key: unknown): { items: T[] | undefined; error?: string } {
  const [state, setState] = useState<{ items: T[] | undefined; error?: string }>({
    items: undefined,
  })
  useEffect(() => {
    const controller = new AbortController()
    api<Page<T>>(url, { signal: controller.signal })
      .then((page) => setState({ items: page.items }))
      .catch((err: unknown) => {
        if (controller.signal.aborted) return
        setState((prev) => ({ ...prev, error: err instanceof Error ? err.message : String(err) }))
      })
    return () => controller.abort()
  }, [url, key])
  return state
}

function sourceFile(view: MonitorView): string {
  return view.source.startsWith('file:') ? view.source.slice(5) : view.source
}

/** One monitor: state, last message, actions, latency chart, results, history and spec. */
export function MonitorPage(props: {
  id: string
  store: MonitorStore
  session: Session
  theme: Theme
}) {
  const { id, store, session, theme } = props
  useMonitorStore(store)
  const now = useNow(5_000)
  const live = store.entries.get(id)?.view
  const [fetched, setFetched] = useState<MonitorView>()
  const [rules, setRules] = useState<MonitorRules>()
  const [missing, setMissing] = useState<string>()

  // Read once even when the live list has the monitor: only this read carries its rules, and
  // they change only with the spec (a new version).
  useEffect(() => {
    const controller = new AbortController()
    api<MonitorView>(`/api/v1/monitors/${encodeURIComponent(id)}`, { signal: controller.signal })
      .then((detail) => {
        setFetched(detail)
        setRules(detail.rules)
      })
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setMissing(err instanceof Error ? err.message : String(err))
      })
    return () => controller.abort()
  }, [id, live?.version])

  const view = live ?? fetched
  const base = `/api/v1/monitors/${encodeURIComponent(id)}`
  const results = useList<CheckResult>(`${base}/results?limit=300`, view?.lastCheckedAt)
  const history = useList<StateChange>(
    `${base}/history?limit=50`,
    `${view?.state}:${view?.stateSince}`,
  )
  const [range, setRange] = useState<ChartRange>(ranges[0])
  // Ends at the current bucket, so the URL (and the read) changes once per bucket, not per render.
  const rangeEnd = (Math.floor(now / range.bucketMs) + 1) * range.bucketMs
  const rollups = useList<Rollup>(
    `${base}/rollups?resolution=${range.resolution}&from=${rangeEnd - range.spanMs}`,
    range,
  )
  const runbooks = useApi<{ runbooks: MonitorRunbook[] }>(
    `/api/v1/runbooks?monitor=${encodeURIComponent(id)}`,
  )

  const chart = useMemo(() => {
    const buckets = rollups.items ?? []
    if (buckets.length >= 2) {
      const data: uPlot.AlignedData = [
        buckets.map((b) => b.bucketStart / 1000),
        buckets.map((b) => b.latencyP50),
        buckets.map((b) => b.latencyP95),
        buckets.map((b) => b.latencyMax),
      ]
      return { data, series: rollupSeries, caption: `${range.unit}, last ${range.label}` }
    }
    const raw = [...(results.items ?? [])].reverse()
    const data: uPlot.AlignedData = [
      raw.map((r) => r.checkedAt / 1000),
      raw.map((r) => (r.status === 'down' ? null : r.latencyMs)),
      raw.map((r) => (r.status === 'down' ? r.latencyMs : null)),
    ]
    return {
      data,
      series: rawSeries,
      caption: `last ${raw.length} checks; no ${range.unit} roll-ups in this range yet`,
    }
  }, [rollups.items, results.items, range])

  const [busy, setBusy] = useState<string>()
  const [actionError, setActionError] = useState<string>()
  const [outcome, setOutcome] = useState<CheckNowOutcome>()
  const canRespond = roleAllows(session.role, 'responder')

  if (!view) {
    return (
      <main className="page monitor-page">
        <Link href="/" className="back">
          ← All monitors
        </Link>
        {missing ? <p className="form-error">{missing}</p> : <p className="muted">Loading {id}…</p>}
      </main>
    )
  }

  const act = async (action: 'pause' | 'resume' | 'check') => {
    setBusy(action)
    setActionError(undefined)
    try {
      if (action === 'check') {
        setOutcome(await api<CheckNowOutcome>(`${base}/check`, { method: 'POST' }))
      } else {
        const next = await api<MonitorView>(`${base}/${action}`, { method: 'POST' })
        setFetched(next)
        store.upsert(next)
      }
    } catch (err) {
      setActionError(err instanceof ApiError || err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(undefined)
    }
  }

  const spec = view.spec
  const target = targetOf(spec)
  const labels = labelsOf(spec)
  const needs = canRespond ? undefined : `Needs the responder role; you are ${session.role}`

  return (
    <main className="page monitor-page" data-monitor-page={view.id}>
      <Link href="/" className="back">
        ← All monitors
      </Link>
      <div className="monitor-head">
        <div className="monitor-title">
          <h1>{view.name ?? view.id}</h1>
          <p className="sub">
            <code>{view.id}</code> · {view.type}
            {target ? (
              <>
                {' · '}
                <span className="target">{target}</span>
              </>
            ) : null}
          </p>
        </div>
        <div className="monitor-state" data-testid="monitor-state">
          <StateChip state={view.state as MonitorState} flapping={view.flapping} large />
        </div>
        <div className="actions">
          <button
            type="button"
            className="button"
            disabled={!canRespond || busy !== undefined}
            title={needs}
            onClick={() => void act(view.paused ? 'resume' : 'pause')}
          >
            {busy === 'pause'
              ? 'Pausing…'
              : busy === 'resume'
                ? 'Resuming…'
                : view.paused
                  ? 'Resume'
                  : 'Pause'}
          </button>
          <button
            type="button"
            className="button primary"
            disabled={!canRespond || busy !== undefined || view.type === 'heartbeat'}
            title={
              view.type === 'heartbeat' ? 'Heartbeat monitors are updated by their pings' : needs
            }
            onClick={() => void act('check')}
          >
            {busy === 'check' ? 'Checking…' : 'Check now'}
          </button>
        </div>
      </div>
      {actionError ? (
        <p className="form-error" role="alert">
          {actionError}
        </p>
      ) : null}

      <section className="facts" aria-label="Summary">
        <div className="fact">
          <span className="fact-label">State</span>
          <span className="fact-value">
            {view.state} for {duration(now - view.stateSince)}
          </span>
          <span className="fact-sub">since {when(view.stateSince)}</span>
        </div>
        <div className="fact">
          <span className="fact-label">Last check</span>
          <span className="fact-value">{ago(view.lastCheckedAt, now)}</span>
          <span className="fact-sub">
            {view.lastStatus ?? '–'} in {latency(view.lastLatencyMs)}
          </span>
        </div>
        <div className="fact">
          <span className="fact-label">Schedule</span>
          <span className="fact-value">every {String(spec.interval ?? '60s')}</span>
          <span className="fact-sub">
            timeout {String(spec.timeout ?? '10s')}, retries {String(spec.retries ?? 1)}
          </span>
        </div>
        <div className="fact">
          <span className="fact-label">Next check</span>
          <span className="fact-value">
            {view.paused
              ? 'paused'
              : view.nextDueAt === undefined
                ? '–'
                : view.nextDueAt <= now
                  ? 'due now'
                  : `in ${duration(view.nextDueAt - now)}`}
          </span>
          <span className="fact-sub">
            {labels.length > 0 ? labels.map(([k, v]) => `${k}=${v}`).join(' ') : 'no labels'}
          </span>
        </div>
      </section>

      <section className={`card message message-${view.lastStatus ?? 'none'}`}>
        <h2>Last message</h2>
        <p data-testid="last-message">
          {view.lastMessage || (view.lastCheckedAt ? 'OK' : 'Not checked yet.')}
        </p>
      </section>

      {outcome ? (
        <section className="card outcome" data-testid="check-outcome">
          <h2>Check now</h2>
          <p>
            <StateChip state={outcome.status} /> in {latency(outcome.latencyMs)} at{' '}
            {when(outcome.checkedAt)}
            {outcome.message ? `: ${outcome.message}` : ''}
          </p>
          <p className="muted">Run on demand; not recorded in the history and raises no alert.</p>
        </section>
      ) : null}

      <div className="two-col">
        <RulesCard rules={rules} />
        <RunbooksCard monitor={view} runbooks={runbooks.data?.runbooks} error={runbooks.error} />
      </div>

      <section className="card" data-resolution={range.resolution}>
        <div className="card-head chart-head">
          <h2>Latency</h2>
          <span className="muted" data-testid="chart-caption">
            {chart.caption}
          </span>
          <div className="segmented ranges" role="group" aria-label="Time range">
            {ranges.map((r) => (
              <button
                key={r.label}
                type="button"
                aria-pressed={r === range}
                onClick={() => setRange(r)}
              >
                {r.label}
              </button>
            ))}
          </div>
        </div>
        {chart.data[0].length > 0 ? (
          <LatencyChart data={chart.data} series={chart.series} theme={theme} />
        ) : (
          <p className="muted chart-empty">No checks recorded yet.</p>
        )}
      </section>

      <div className="two-col">
        <section className="card">
          <div className="card-head">
            <h2>Recent results</h2>
            <span className="muted">newest first</span>
          </div>
          <div className="table-scroll">
            <table className="results" data-testid="results">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Status</th>
                  <th className="num">Latency</th>
                  <th>Message</th>
                </tr>
              </thead>
              <tbody>
                {(results.items ?? []).slice(0, 25).map((r) => (
                  <tr key={r.checkedAt} className={`result-${r.status}`}>
                    <td className="nowrap">{when(r.checkedAt)}</td>
                    <td>
                      <span className={`status-text status-${r.status}`}>{r.status}</span>
                    </td>
                    <td className="num nowrap">{latency(r.latencyMs)}</td>
                    <td className="message-cell">{r.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {results.items?.length === 0 ? <p className="muted">No results yet.</p> : null}
            {results.error ? <p className="form-error">{results.error}</p> : null}
          </div>
        </section>

        <section className="card">
          <div className="card-head">
            <h2>State history</h2>
          </div>
          <ol className="history" data-testid="history">
            {(history.items ?? []).map((change) => (
              <li key={`${change.at}-${change.to}`}>
                <span className={`dot dot-${change.to}`} aria-hidden="true" />
                <div>
                  <div>
                    <strong>{change.from}</strong> → <strong>{change.to}</strong>
                    {change.flapping ? <span className="chip-flap">flapping</span> : null}
                  </div>
                  <div className="muted small">
                    {when(change.at)} · {ago(change.at, now)}
                  </div>
                  {change.message ? (
                    <div className="small history-message">{change.message}</div>
                  ) : null}
                </div>
              </li>
            ))}
          </ol>
          {history.items?.length === 0 ? <p className="muted">No state changes yet.</p> : null}
        </section>
      </div>

      <section className="card spec">
        <div className="card-head">
          <h2>Spec</h2>
          <span className="muted">read-only; secrets redacted</span>
        </div>
        {view.managedByConfig ? (
          <p className="banner" data-testid="managed-by">
            Managed by <code>{sourceFile(view)}</code>: change it there and run{' '}
            <code>keel apply</code>.
          </p>
        ) : (
          <p className="banner">
            Created through the API (source {view.source}).{' '}
            <Link href={`/monitors/${encodeURIComponent(view.id)}/edit`}>Edit it</Link>
          </p>
        )}
        <pre>{JSON.stringify(spec, null, 2)}</pre>
      </section>
    </main>
  )
}

const matchWords: Record<MonitorRunbook['matchedBy'][number], string> = {
  alert: 'answers its alert',
  entity: 'about its entity',
  monitor: 'named by the monitor',
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** What makes the monitor down or degraded, as the server describes it. */
function RulesCard(props: { rules: MonitorRules | undefined }) {
  const { rules } = props
  return (
    <section className="card rules">
      <div className="card-head">
        <h2>Conditions</h2>
        <span className="muted">each check needs</span>
      </div>
      {rules ? (
        <>
          <ul className="rule-list" data-testid="conditions">
            {rules.expectations.map((e) => (
              <li key={`${e.source}:${e.text}`} data-otherwise={e.otherwise}>
                {e.source === 'condition' ? <code>{e.text}</code> : <span>{e.text}</span>}
                <span className={`rule-otherwise status-text status-${e.otherwise}`}>
                  else {e.otherwise}
                </span>
              </li>
            ))}
          </ul>
          <p className="muted small rule-confirm" data-testid="confirm-rule">
            Down or degraded after {plural(rules.downAfter, 'failing check')} in a row; up again
            after {plural(rules.upAfter, 'passing check')}.
          </p>
        </>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </section>
  )
}

/** The runbooks that answer the monitor's alert, are about its entity, or that it names. */
function RunbooksCard(props: {
  monitor: MonitorView
  runbooks: MonitorRunbook[] | undefined
  error: string | undefined
}) {
  const { monitor, runbooks, error } = props
  return (
    <section className="card">
      <div className="card-head">
        <h2>Runbooks</h2>
        <span className="muted">what to do when it fails</span>
      </div>
      {runbooks && runbooks.length > 0 ? (
        <ul className="runbook-links" data-testid="monitor-runbooks">
          {runbooks.map((runbook) => (
            <li key={runbook.name}>
              <Link
                href={`/runbooks/${encodeURIComponent(runbook.name)}`}
                data-runbook={runbook.name}
              >
                {runbook.title}
              </Link>
              <span className="muted small">
                {runbook.matchedBy.map((m) => matchWords[m]).join(' · ')}
              </span>
            </li>
          ))}
        </ul>
      ) : runbooks ? (
        <p className="muted">
          No runbook matches. One is listed here when its <code>alerts</code> match{' '}
          <code>monitor="{monitor.id}"</code>, its <code>entities</code> name this monitor’s{' '}
          <code>entity</code> or <code>service</code> label, or the monitor’s <code>runbook</code>{' '}
          field names it.
        </p>
      ) : error ? (
        <p className="form-error">{error}</p>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </section>
  )
}
