import { useState, type FormEvent } from 'react'
import { api, ApiError } from './api'
import { KeelLogo } from './icons'
import type { Session } from './types'

/** Paste an API token, get a session cookie. */
export function LoginPage(props: { onLogin: (session: Session) => void }) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const session = await api<Session>('/api/v1/session', {
        method: 'POST',
        body: { token: token.trim() },
      })
      props.onLogin(session)
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? `That token was not accepted: ${err.message}.`
          : err instanceof Error
            ? err.message
            : String(err),
      )
    } finally {
      setBusy(false)
    }
  }

  return (
    <main className="login">
      <form className="login-card" onSubmit={submit}>
        <div className="login-brand">
          <KeelLogo />
          <h1>Keel</h1>
        </div>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          spellCheck={false}
          placeholder="keel_…"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoFocus
          required
        />
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button className="button primary" type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="hint">
          <code>npm start</code> prints an admin token the first time it runs. Create more with{' '}
          <code>npx keel token create --name you --role responder</code>.
        </p>
      </form>
    </main>
  )
}
