import { useEffect, useState, type FormEvent } from 'react'
import { api, ApiError } from './api'
import { KeelLogo } from './icons'
import { safeLinkUrl } from './safe-link'
import type { Session } from './types'

interface LoginMethods {
  password: boolean
  token: boolean
  oidc?: { name: string; loginUrl: string }
}

/**
 * Sign in with a user name and password, an identity provider, or an API token: one form, where
 * a filled token field means a token login.
 */
export function LoginPage(props: { onLogin: (session: Session) => void }) {
  const [user, setUser] = useState('')
  const [password, setPassword] = useState('')
  const [token, setToken] = useState('')
  const [methods, setMethods] = useState<LoginMethods>()
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    api<LoginMethods>('/api/v1/auth/methods')
      .then(setMethods)
      .catch(() => undefined)
  }, [])

  const withToken = token.trim() !== ''
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const body = withToken ? { token: token.trim() } : { user: user.trim(), password }
      const session = await api<Session>('/api/v1/session', { method: 'POST', body })
      props.onLogin(session)
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401 && withToken
          ? `That token was not accepted: ${err.message}.`
          : err instanceof Error
            ? err.message
            : String(err),
      )
    } finally {
      setBusy(false)
    }
  }

  const ready = withToken || (user.trim() !== '' && password !== '')
  return (
    <main className="login">
      <form className="login-card" onSubmit={submit}>
        <div className="login-brand">
          <KeelLogo />
          <h1>Keel</h1>
        </div>
        {methods?.oidc && safeLinkUrl(methods.oidc.loginUrl) ? (
          <a className="button" href={safeLinkUrl(methods.oidc.loginUrl)}>
            Sign in with {methods.oidc.name}
          </a>
        ) : null}
        <label htmlFor="user">User</label>
        <input
          id="user"
          name="username"
          autoComplete="username"
          spellCheck={false}
          value={user}
          onChange={(e) => setUser(e.target.value)}
          disabled={withToken}
          autoFocus
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          disabled={withToken}
        />
        <label htmlFor="token">or an API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="keel_…"
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button className="button primary" type="submit" disabled={busy || !ready}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="hint">
          <code>npm start</code> prints a one-time link to set the admin password the first time it
          runs. Add people with <code>npx keel user add &lt;id&gt; --role responder</code>.
        </p>
      </form>
    </main>
  )
}
