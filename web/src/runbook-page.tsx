import { useEffect, useState, type FormEvent } from 'react'
import { api } from './api'
import './runbook.css'
import { Link } from './router'
import { roleAllows, type Session } from './types'
import { messageOf, useApi } from './use-api'

interface Parameter {
  name: string
  type: 'string' | 'number' | 'boolean' | 'enum'
  description?: string
  default?: string | number | boolean
  required: boolean
  /** Sealed at rest, shown as <redacted>, passed to commands in their environment only. */
  secret?: boolean
  values?: string[]
}

interface RunbookSummary {
  name: string
  title: string
  description?: string
  roles: string[]
  alerts: string[]
  parameters: Parameter[]
  runRole: 'responder' | 'operator' | 'admin'
  needsApproval: boolean
  steps: number
}

interface Step {
  id: string
  title: string
  kind: 'checklist' | 'command' | 'http' | 'decision' | 'link'
  items?: string[]
  question?: string
  answers?: { label: string; next: string }[]
  runbook?: string
}

interface RunbookDetail extends RunbookSummary {
  html: string
}

interface RunStep {
  id: number
  stepId: string
  status: string
  actor?: string
  note?: string
  answer?: string
  exitCode?: number
  httpStatus?: number
  summary?: string
  output?: string
}

interface Run {
  id: number
  status: 'pendingApproval' | 'running' | 'interrupted' | 'succeeded' | 'failed' | 'cancelled'
  currentStep?: string
  reason?: string
  requestedBy: string
  approvedBy?: string
  steps: RunStep[]
  current?: Step
}

/** The runbooks Keel knows, filterable by role. */
export function RunbooksPage(props: { search: URLSearchParams }) {
  const role = props.search.get('role') ?? ''
  const list = useApi<{ runbooks: RunbookSummary[]; issues: { file: string; message: string }[] }>(
    `/api/v1/runbooks${role ? `?role=${encodeURIComponent(role)}` : ''}`,
  )
  return (
    <main className="page runbooks-page">
      <div className="page-head">
        <h1>Runbooks</h1>
        <span className="muted">procedures to read and run{role ? ` for ${role}` : ''}</span>
      </div>
      {list.error ? <p className="form-error">Could not load runbooks: {list.error}</p> : null}
      <div className="list-card" role="list" aria-label="Runbooks">
        {(list.data?.runbooks ?? []).map((r) => (
          <div key={r.name} className="srow" role="listitem" data-runbook={r.name}>
            <span className="srow-main">
              <Link href={`/runbooks/${encodeURIComponent(r.name)}`}>{r.title}</Link>
              <span className="muted small">
                {r.roles.join(', ') || 'any role'} · {r.steps} steps
                {r.needsApproval ? ' · dangerous steps need approval' : ''}
              </span>
            </span>
          </div>
        ))}
      </div>
      {(list.data?.issues ?? []).map((i) => (
        <p key={`${i.file}${i.message}`} className="form-error">
          {i.file}: {i.message}
        </p>
      ))}
    </main>
  )
}

function RunView(props: { runId: number; session: Session }) {
  const [tick, setTick] = useState(0)
  const run = useApi<Run>(`/api/v1/runbook-runs/${props.runId}?t=${tick}`)
  const [note, setNote] = useState('')
  const [error, setError] = useState<string>()
  const status = run.data?.status
  const current = run.data?.current
  const busy =
    status === 'running' &&
    (current === undefined || current.kind === 'command' || current.kind === 'http')
  useEffect(() => {
    if (!busy) return
    const timer = setTimeout(() => setTick((t) => t + 1), 1000)
    return () => clearTimeout(timer)
  }, [busy, tick])
  const act = async (path: string, body: unknown = {}) => {
    setError(undefined)
    try {
      await api(`/api/v1/runbook-runs/${props.runId}${path}`, { method: 'POST', body })
      setNote('')
      setTick((t) => t + 1)
    } catch (err) {
      setError(messageOf(err))
    }
  }
  if (!run.data) return <p className="muted">{run.error ?? 'Loading the run…'}</p>
  const data = run.data
  return (
    <section className="runbook-run" aria-label={`Run ${data.id}`} data-status={data.status}>
      <h2>
        Run {data.id}: {data.status}
      </h2>
      <p className="muted small">
        requested by {data.requestedBy}
        {data.approvedBy ? `, approved by ${data.approvedBy}` : ''}
        {data.reason ? ` — ${data.reason}` : ''}
      </p>
      <ol className="runbook-steps">
        {data.steps.map((s) => (
          <li key={s.id} data-step={s.stepId} data-status={s.status}>
            <strong>{s.stepId}</strong> {s.status}
            {s.summary ? ` (${s.summary})` : ''}
            {s.answer ? ` → ${s.answer}` : ''}
            {s.note ? ` — ${s.note}` : ''}
            {s.output ? <pre className="runbook-output">{s.output}</pre> : null}
          </li>
        ))}
      </ol>
      {data.status === 'pendingApproval' ? (
        <button type="button" className="button primary" onClick={() => void act('/approve')}>
          Approve (a second person, operator or higher)
        </button>
      ) : null}
      {status === 'running' &&
      current &&
      (current.kind === 'checklist' || current.kind === 'link') ? (
        <form
          onSubmit={(e: FormEvent) => {
            e.preventDefault()
            void act(`/steps/${current.id}`, note ? { note } : {})
          }}
        >
          <h3>{current.title}</h3>
          <ul>
            {(current.items ?? []).map((item) => (
              <li key={item}>{item}</li>
            ))}
          </ul>
          {current.kind === 'link' ? (
            <p>
              Follow <Link href={`/runbooks/${current.runbook ?? ''}`}>{current.runbook}</Link>
            </p>
          ) : null}
          <input
            aria-label="Note"
            placeholder="note (optional)"
            value={note}
            onChange={(e) => setNote(e.target.value)}
          />
          <button type="submit" className="button primary">
            Done
          </button>
        </form>
      ) : null}
      {status === 'running' && current?.kind === 'decision' ? (
        <div className="runbook-decision">
          <h3>{current.question}</h3>
          {(current.answers ?? []).map((a) => (
            <button
              key={a.label}
              type="button"
              className="button"
              onClick={() => void act(`/steps/${current.id}`, { answer: a.label })}
            >
              {a.label}
            </button>
          ))}
        </div>
      ) : null}
      {status === 'interrupted' ? (
        <div className="runbook-decision">
          <h3>Keel stopped while step {data.currentStep} ran</h3>
          <button
            type="button"
            className="button primary"
            onClick={() => void act('/resume', { from: 'next' })}
          >
            Resume from the next step
          </button>
          <button
            type="button"
            className="button"
            onClick={() => void act('/resume', { from: 'retry' })}
          >
            Retry step {data.currentStep}
          </button>
        </div>
      ) : null}
      {status === 'running' || status === 'pendingApproval' || status === 'interrupted' ? (
        <button type="button" className="button subtle" onClick={() => void act('/cancel')}>
          Cancel run
        </button>
      ) : null}
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      {!roleAllows(props.session.role, 'responder') ? (
        <p className="muted">Viewers can watch but not act.</p>
      ) : null}
    </section>
  )
}

/** One runbook: its document, a parameter form, dry run, and the run it starts. */
export function RunbookPage(props: { name: string; session: Session; search: URLSearchParams }) {
  const detail = useApi<RunbookDetail>(`/api/v1/runbooks/${encodeURIComponent(props.name)}`)
  const [values, setValues] = useState<Record<string, string>>({})
  const [plan, setPlan] = useState<string>()
  const [error, setError] = useState<string>()
  const incident = props.search.get('incident')
  const [runId, setRunId] = useState<number | undefined>(() => {
    const run = Number(props.search.get('run'))
    return Number.isInteger(run) && run > 0 ? run : undefined
  })
  if (!detail.data) {
    return (
      <main className="page">
        {detail.error ? <p className="form-error">{detail.error}</p> : <p>Loading…</p>}
      </main>
    )
  }
  const runbook = detail.data
  const params = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''))
  const start = async (dryRun: boolean) => {
    setError(undefined)
    try {
      const answer = await api<{ id?: number }>(
        `/api/v1/runbooks/${encodeURIComponent(runbook.name)}/runs`,
        {
          method: 'POST',
          body: { params, dryRun, ...(incident ? { incidentId: Number(incident) } : {}) },
        },
      )
      if (dryRun) setPlan(JSON.stringify(answer, null, 2))
      else if (answer.id !== undefined) setRunId(answer.id)
    } catch (err) {
      setError(messageOf(err))
    }
  }
  const canRun = roleAllows(props.session.role, runbook.runRole)
  return (
    <main className="page runbook-page" data-runbook={runbook.name}>
      <div className="page-head">
        <h1>{runbook.title}</h1>
        <span className="muted">
          <Link href="/runbooks">runbooks</Link> · {runbook.roles.join(', ')}
          {runbook.alerts.length > 0 ? ` · answers ${runbook.alerts.join(' or ')}` : ''}
        </span>
      </div>
      {/* Runbooks are trusted configuration (like keel.yaml), rendered server-side by marked. */}
      <article className="runbook-doc" dangerouslySetInnerHTML={{ __html: runbook.html }} />
      <section className="runbook-run-form" aria-label="Run this runbook">
        <h2>Run{incident ? ` for incident ${incident}` : ''}</h2>
        {runbook.parameters.map((p) => (
          <label key={p.name} className="field">
            <span>
              {p.name}
              {p.required ? ' *' : ''} <span className="muted small">{p.description}</span>
            </span>
            {p.type === 'enum' ? (
              <select
                value={values[p.name] ?? String(p.default ?? '')}
                onChange={(e) => setValues({ ...values, [p.name]: e.target.value })}
              >
                {(p.values ?? []).map((v) => (
                  <option key={v}>{v}</option>
                ))}
              </select>
            ) : (
              <input
                name={p.name}
                type={p.secret ? 'password' : 'text'}
                autoComplete={p.secret ? 'off' : undefined}
                placeholder={p.default !== undefined ? String(p.default) : ''}
                value={values[p.name] ?? ''}
                onChange={(e) => setValues({ ...values, [p.name]: e.target.value })}
              />
            )}
          </label>
        ))}
        <div className="toolbar">
          <button type="button" className="button subtle" onClick={() => void start(true)}>
            Dry run
          </button>
          <button
            type="button"
            className="button primary"
            disabled={!canRun}
            onClick={() => void start(false)}
          >
            {runbook.needsApproval ? 'Request run (needs approval)' : 'Run'}
          </button>
        </div>
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        {plan ? <pre className="runbook-output">{plan}</pre> : null}
      </section>
      {runId !== undefined ? <RunView key={runId} runId={runId} session={props.session} /> : null}
    </main>
  )
}
