import { useEffect, useState, type FormEvent } from 'react'
import { api } from './api'
import { Field, issuesAt, saveErrorOf, type SaveError } from './form-field'
import type { MonitorStore } from './monitor-store'
import { Link, navigate } from './router'
import { roleAllows, type MonitorView, type Session } from './types'
import { messageOf } from './use-api'

/** One field of a monitor type that the form shows as its own input. */
interface TypeField {
  key: string
  label: string
  kind?: 'text' | 'number' | 'lines'
  placeholder?: string
  hint?: string
}

// The fields people set most per type (src/checks/*.ts); every other field of keel.yaml's
// monitor schema goes in "More fields" as JSON, so nothing the schema allows is out of reach.
const typeFields: Record<string, TypeField[]> = {
  http: [
    { key: 'url', label: 'URL', placeholder: 'https://shop.example.com/health' },
    { key: 'method', label: 'Method', placeholder: 'GET' },
    { key: 'keyword', label: 'Keyword', hint: 'the body must contain it' },
    { key: 'degradedAfter', label: 'Degraded after', placeholder: '800ms' },
  ],
  tcp: [
    { key: 'host', label: 'Host', placeholder: 'db-1.internal' },
    { key: 'port', label: 'Port', kind: 'number', placeholder: '5432' },
  ],
  dns: [
    { key: 'query', label: 'Name to resolve', placeholder: 'shop.example.com' },
    { key: 'recordType', label: 'Record type', placeholder: 'A' },
    { key: 'server', label: 'DNS server', placeholder: '1.1.1.1' },
  ],
  tls: [
    { key: 'host', label: 'Host', placeholder: 'shop.example.com' },
    { key: 'port', label: 'Port', kind: 'number', placeholder: '443' },
    { key: 'warnBefore', label: 'Warn before expiry', placeholder: '21d' },
  ],
  ping: [{ key: 'host', label: 'Host', placeholder: '10.0.0.1' }],
  postgres: [
    { key: 'url', label: 'Connection URL', placeholder: 'postgres://monitor@db-1/app' },
    { key: 'query', label: 'Query', placeholder: 'select 1' },
  ],
  mysql: [
    { key: 'url', label: 'Connection URL', placeholder: 'mysql://monitor@db-2/app' },
    { key: 'query', label: 'Query', placeholder: 'select 1' },
  ],
  redis: [{ key: 'url', label: 'URL', placeholder: 'redis://cache-1:6379' }],
  command: [
    {
      key: 'command',
      label: 'Command',
      placeholder: '/usr/lib/nagios/plugins/check_disk',
      hint: 'a plugin in a directory keel.yaml lists under checks.commandDirs',
    },
    { key: 'args', label: 'Arguments', kind: 'lines', hint: 'one per line' },
  ],
  heartbeat: [
    { key: 'period', label: 'Expected every', placeholder: '1h' },
    { key: 'schedule', label: 'Or cron schedule', placeholder: '0 2 * * *' },
    { key: 'grace', label: 'Grace', placeholder: '10m' },
  ],
}

const types = Object.keys(typeFields)
const commonKeys = ['type', 'name', 'interval', 'timeout', 'retries', 'labels', 'severity']
const severities = ['critical', 'error', 'warning', 'info']

interface FormState {
  id: string
  type: string
  name: string
  interval: string
  timeout: string
  retries: string
  severity: string
  labels: string
  own: Record<string, string>
  more: string
}

function blank(): FormState {
  return {
    id: '',
    type: 'http',
    name: '',
    interval: '60s',
    timeout: '10s',
    retries: '1',
    severity: 'critical',
    labels: '',
    own: {},
    more: '',
  }
}

/** A stored spec back into the form: known fields into inputs, the rest into "More fields". */
function stateOf(view: MonitorView): FormState {
  const spec = view.spec
  const own: Record<string, string> = {}
  const fields = typeFields[view.type] ?? []
  for (const field of fields) {
    const value = spec[field.key]
    if (value === undefined) continue
    own[field.key] = Array.isArray(value) ? value.map(String).join('\n') : String(value)
  }
  const known = new Set([...commonKeys, ...fields.map((f) => f.key), 'paused'])
  const rest = Object.fromEntries(Object.entries(spec).filter(([k]) => !known.has(k)))
  const labels = (spec.labels ?? {}) as Record<string, unknown>
  return {
    id: view.id,
    type: view.type,
    name: view.name ?? '',
    interval: String(spec.interval ?? '60s'),
    timeout: String(spec.timeout ?? '10s'),
    retries: String(spec.retries ?? 1),
    severity: String(spec.severity ?? 'critical'),
    labels: Object.entries(labels)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join('\n'),
    own,
    more: Object.keys(rest).length > 0 ? JSON.stringify(rest, null, 2) : '',
  }
}

/** The spec the API is sent; a problem found before sending is returned as a field issue. */
function specOf(state: FormState): { spec: Record<string, unknown> } | { issue: SaveError } {
  const spec: Record<string, unknown> = { type: state.type }
  if (state.name.trim()) spec.name = state.name.trim()
  if (state.interval.trim()) spec.interval = state.interval.trim()
  if (state.timeout.trim()) spec.timeout = state.timeout.trim()
  if (state.retries.trim()) {
    spec.retries = /^\d+$/.test(state.retries.trim()) ? Number(state.retries) : state.retries
  }
  spec.severity = state.severity
  const labels: Record<string, string> = {}
  for (const line of state.labels
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const eq = line.indexOf('=')
    if (eq <= 0) {
      return {
        issue: {
          message: `labels: write each label as key=value, got "${line}"`,
          issues: [{ path: 'labels', message: `write each label as key=value, got "${line}"` }],
        },
      }
    }
    labels[line.slice(0, eq).trim()] = line.slice(eq + 1).trim()
  }
  if (Object.keys(labels).length > 0) spec.labels = labels
  for (const field of typeFields[state.type] ?? []) {
    const text = (state.own[field.key] ?? '').trim()
    if (!text) continue
    if (field.kind === 'number') spec[field.key] = /^\d+$/.test(text) ? Number(text) : text
    else if (field.kind === 'lines') spec[field.key] = text.split('\n').map((l) => l.trim())
    else spec[field.key] = text
  }
  if (state.more.trim()) {
    let extra: unknown
    try {
      extra = JSON.parse(state.more)
    } catch (err) {
      const message = `more fields must be a JSON object: ${messageOf(err)}`
      return { issue: { message, issues: [{ path: 'more', message }] } }
    }
    if (!extra || typeof extra !== 'object' || Array.isArray(extra)) {
      const message = 'more fields must be a JSON object such as {"expectedStatus": 204}'
      return { issue: { message, issues: [{ path: 'more', message }] } }
    }
    Object.assign(spec, extra)
  }
  // Secrets shown as <redacted> go back as they are: the server keeps the stored value while
  // the target is unchanged and otherwise names the field to type again.
  return { spec }
}

/**
 * Creates a monitor (`/monitors/new`) or edits one made through the API (`/monitors/:id/edit`),
 * with keel.yaml's schema: the server validates, and its 400 names each field, shown beside it.
 * A monitor that a keel.yaml owns is shown read-only with the file it comes from.
 */
export function MonitorForm(props: { id?: string; store: MonitorStore; session: Session }) {
  const { id, store, session } = props
  const [state, setState] = useState<FormState>(blank)
  const [view, setView] = useState<MonitorView>()
  const [loadError, setLoadError] = useState<string>()
  const [error, setError] = useState<SaveError>()
  const [busy, setBusy] = useState(false)
  const canWrite = roleAllows(session.role, 'operator')

  useEffect(() => {
    if (id === undefined) return
    api<MonitorView>(`/api/v1/monitors/${encodeURIComponent(id)}`)
      .then((v) => {
        setView(v)
        setState(stateOf(v))
      })
      .catch((err: unknown) => setLoadError(messageOf(err)))
  }, [id])

  const set = (patch: Partial<FormState>) => setState((s) => ({ ...s, ...patch }))
  const setOwn = (key: string, value: string) =>
    setState((s) => ({ ...s, own: { ...s.own, [key]: value } }))

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setError(undefined)
    const built = specOf(state)
    if ('issue' in built) {
      setError(built.issue)
      return
    }
    setBusy(true)
    try {
      const saved =
        id === undefined
          ? await api<MonitorView>('/api/v1/monitors', {
              method: 'POST',
              body: { id: state.id.trim(), ...built.spec },
            })
          : await api<MonitorView>(`/api/v1/monitors/${encodeURIComponent(id)}`, {
              method: 'PUT',
              body: built.spec,
            })
      store.upsert(saved)
      navigate(`/monitors/${encodeURIComponent(saved.id)}`)
    } catch (err) {
      setError(saveErrorOf(err))
    } finally {
      setBusy(false)
    }
  }

  const back = id === undefined ? '/' : `/monitors/${encodeURIComponent(id)}`
  if (id !== undefined && !view) {
    return (
      <main className="page monitor-form-page">
        <Link href={back} className="back">
          ← Back
        </Link>
        {loadError ? <p className="form-error">{loadError}</p> : <p className="muted">Loading…</p>}
      </main>
    )
  }
  if (view?.managedByConfig) {
    return (
      <main className="page monitor-form-page">
        <Link href={back} className="back">
          ← Back
        </Link>
        <h1>{view.name ?? view.id}</h1>
        <p className="banner" data-testid="read-only">
          This monitor is managed by <code>{view.source.replace(/^file:/, '')}</code> and is
          read-only here: change it in that file and run <code>keel apply</code>.
        </p>
        <pre className="card">{JSON.stringify(view.spec, null, 2)}</pre>
      </main>
    )
  }

  const fields = typeFields[state.type] ?? []
  const errs = (field: string) => issuesAt(error, field)
  const shownPaths = new Set([...commonKeys, 'id', 'more', ...fields.map((f) => f.key)])
  const otherIssues = (error?.issues ?? []).filter(
    (i) => !shownPaths.has(i.path.split(/[.[]/)[0] ?? ''),
  )

  return (
    <main className="page monitor-form-page">
      <Link href={back} className="back">
        ← Back
      </Link>
      <h1>{id === undefined ? 'New monitor' : `Edit ${view?.name ?? id}`}</h1>
      {!canWrite ? (
        <p className="banner">
          Creating and editing monitors needs the operator role; you are {session.role}.
        </p>
      ) : null}
      <form className="card form-card monitor-form" onSubmit={(e) => void submit(e)} noValidate>
        <div className="field-row">
          {id === undefined ? (
            <Field label="Id" htmlFor="m-id" errors={errs('id')} hint="a slug, e.g. shop-api">
              <input id="m-id" value={state.id} onChange={(e) => set({ id: e.target.value })} />
            </Field>
          ) : null}
          <Field label="Type" htmlFor="m-type" errors={errs('type')}>
            <select
              id="m-type"
              value={state.type}
              disabled={id !== undefined}
              onChange={(e) => set({ type: e.target.value, own: {} })}
            >
              {types.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Name" htmlFor="m-name" errors={errs('name')}>
            <input id="m-name" value={state.name} onChange={(e) => set({ name: e.target.value })} />
          </Field>
        </div>
        <fieldset className="type-fields">
          <legend>{state.type}</legend>
          {fields.map((field) => (
            <Field
              key={field.key}
              label={field.label}
              htmlFor={`m-${field.key}`}
              errors={errs(field.key)}
              {...(field.hint ? { hint: field.hint } : {})}
            >
              {field.kind === 'lines' ? (
                <textarea
                  id={`m-${field.key}`}
                  rows={3}
                  value={state.own[field.key] ?? ''}
                  onChange={(e) => setOwn(field.key, e.target.value)}
                />
              ) : (
                <input
                  id={`m-${field.key}`}
                  inputMode={field.kind === 'number' ? 'numeric' : undefined}
                  placeholder={field.placeholder}
                  value={state.own[field.key] ?? ''}
                  onChange={(e) => setOwn(field.key, e.target.value)}
                />
              )}
            </Field>
          ))}
        </fieldset>
        <div className="field-row">
          <Field label="Interval" htmlFor="m-interval" errors={errs('interval')}>
            <input
              id="m-interval"
              value={state.interval}
              onChange={(e) => set({ interval: e.target.value })}
            />
          </Field>
          <Field label="Timeout" htmlFor="m-timeout" errors={errs('timeout')}>
            <input
              id="m-timeout"
              value={state.timeout}
              onChange={(e) => set({ timeout: e.target.value })}
            />
          </Field>
          <Field label="Retries" htmlFor="m-retries" errors={errs('retries')}>
            <input
              id="m-retries"
              inputMode="numeric"
              value={state.retries}
              onChange={(e) => set({ retries: e.target.value })}
            />
          </Field>
          <Field label="Severity" htmlFor="m-severity" errors={errs('severity')}>
            <select
              id="m-severity"
              value={state.severity}
              onChange={(e) => set({ severity: e.target.value })}
            >
              {severities.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <Field
          label="Labels"
          htmlFor="m-labels"
          errors={errs('labels')}
          hint="one key=value per line"
        >
          <textarea
            id="m-labels"
            rows={2}
            value={state.labels}
            onChange={(e) => set({ labels: e.target.value })}
          />
        </Field>
        <Field
          label="More fields"
          htmlFor="m-more"
          errors={[...errs('more'), ...otherIssues.map((i) => `${i.path}: ${i.message}`)]}
          hint={
            <>
              any other field of the keel.yaml monitor schema as JSON, e.g.{' '}
              <code>{'{"expectedStatus": [200, 204]}'}</code>; see <code>keel config schema</code>
            </>
          }
        >
          <textarea
            id="m-more"
            rows={3}
            value={state.more}
            onChange={(e) => set({ more: e.target.value })}
          />
        </Field>
        {error ? (
          <p className="form-error" role="alert">
            {error.message}
          </p>
        ) : null}
        <div className="actions">
          <button type="submit" className="button primary" disabled={busy || !canWrite}>
            {busy ? 'Saving…' : id === undefined ? 'Create monitor' : 'Save'}
          </button>
          <Link href={back} className="button subtle">
            Cancel
          </Link>
        </div>
      </form>
    </main>
  )
}
