import { useEffect, useState, type FormEvent } from 'react'
import { api, ApiError } from './api'
import { KeelLogo } from './icons'
import { navigate } from './router'

/** The token of a setup link: it sits in the URL fragment, which never reaches a server log. */
function linkToken(): string {
  return decodeURIComponent(location.hash.replace(/^#/, ''))
}

/** Opens a one-time setup link (`/setup#<token>`) and sets the user's password with it. */
export function SetupPage() {
  const [token] = useState(linkToken)
  const [user, setUser] = useState<string>()
  const [password, setPassword] = useState('')
  const [repeat, setRepeat] = useState('')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const [done, setDone] = useState(false)

  useEffect(() => {
    // Drop the token from the address bar and history once read.
    history.replaceState(null, '', '/setup')
    if (!token) {
      setError('This page needs the one-time link an admin gave you (it ends in #…).')
      return
    }
    api<{ user: string }>(`/api/v1/setup/${encodeURIComponent(token)}`)
      .then((answer) => setUser(answer.user))
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)))
  }, [token])

  const submit = async (event: FormEvent) => {
    event.preventDefault()
    if (password !== repeat) {
      setError('The two passwords differ; type the same one twice.')
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      await api('/api/v1/setup', { method: 'POST', body: { token, password } })
      setDone(true)
    } catch (err) {
      setError(err instanceof ApiError || err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <main className="login">
      <form className="login-card" onSubmit={submit}>
        <div className="login-brand">
          <KeelLogo />
          <h1>Set your password</h1>
        </div>
        {done ? (
          <>
            <p>
              The password of <strong>{user}</strong> is set. The link is used up.
            </p>
            <button className="button primary" type="button" onClick={() => navigate('/login')}>
              Sign in
            </button>
          </>
        ) : (
          <>
            {user ? (
              <p>
                User <strong>{user}</strong>. Choose a password of at least 10 characters; a
                passphrase of several words works well.
              </p>
            ) : null}
            <label htmlFor="new-password">New password</label>
            <input
              id="new-password"
              type="password"
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              minLength={10}
              required
              disabled={!user}
              autoFocus
            />
            <label htmlFor="repeat-password">Repeat it</label>
            <input
              id="repeat-password"
              type="password"
              autoComplete="new-password"
              value={repeat}
              onChange={(e) => setRepeat(e.target.value)}
              required
              disabled={!user}
            />
            {error ? (
              <p className="form-error" role="alert">
                {error}
              </p>
            ) : null}
            <button className="button primary" type="submit" disabled={busy || !user}>
              {busy ? 'Saving…' : 'Set password'}
            </button>
          </>
        )}
      </form>
    </main>
  )
}
