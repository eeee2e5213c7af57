import { useEffect, useState } from 'react'
import { api, unauthorizedEvent } from './api'
import { Header } from './header'
import { LoginPage } from './login-page'
import { MonitorPage } from './monitor-page'
import { MonitorStore, useMonitorStore } from './monitor-store'
import { catalogPage } from './catalog-page'
import { opsPage } from './ops-routes'
import { OverviewPage } from './overview-page'
import { SetupPage } from './setup-page'
import { AuditPage } from './audit-page'
import { Link, navigate, useLocation } from './router'
import { Shortcuts } from './shortcuts'
import { useTheme } from './theme'
import type { Session } from './types'

/** Where to go after logging in: only a path inside this app. */
function nextPath(search: URLSearchParams): string {
  const next = search.get('next') ?? '/'
  return next.startsWith('/') && !next.startsWith('//') ? next : '/'
}

/** The app: the login page until there is a session, then the pages. */
export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined)
  const [theme, toggleTheme] = useTheme()
  const { pathname, search } = useLocation()

  useEffect(() => {
    api<Session>('/api/v1/session')
      .then(setSession)
      .catch(() => setSession(null))
    const lost = () => setSession(null)
    window.addEventListener(unauthorizedEvent, lost)
    return () => window.removeEventListener(unauthorizedEvent, lost)
  }, [])

  useEffect(() => {
    if (session === null && pathname !== '/login' && pathname !== '/setup') {
      const here = pathname + (search.toString() ? `?${search}` : '')
      navigate(here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`, {
        replace: true,
      })
    }
    if (session && pathname === '/login') navigate(nextPath(search), { replace: true })
  }, [session, pathname, search])

  // A one-time setup link works whether or not someone is logged in on this browser.
  if (pathname === '/setup') return <SetupPage />
  if (session === undefined) return <div className="splash" aria-busy="true" />
  if (session === null) return <LoginPage onLogin={setSession} />
  return (
    <Shell
      session={session}
      theme={theme}
      onToggleTheme={toggleTheme}
      onLogout={() => {
        api('/api/v1/session', { method: 'DELETE' })
          .catch(() => undefined)
          .finally(() => setSession(null))
      }}
    />
  )
}

function Shell(props: {
  session: Session
  theme: ReturnType<typeof useTheme>[0]
  onToggleTheme: () => void
  onLogout: () => void
}) {
  const [store] = useState(() => new MonitorStore())
  useMonitorStore(store)
  const { pathname, search } = useLocation()

  useEffect(() => {
    store.start()
    return () => store.stop()
  }, [store])

  const monitorMatch = /^\/monitors\/([^/]+)\/?$/.exec(pathname)
  const ops = opsPage({ pathname, search, session: props.session, store })
  const catalog = catalogPage({ pathname, search, session: props.session, store })
  let page
  if (pathname === '/' || pathname === '/login') {
    page = <OverviewPage store={store} search={search} />
  } else if (ops) {
    page = ops
  } else if (catalog) {
    page = catalog
  } else if (pathname === '/audit') {
    page = <AuditPage session={props.session} />
  } else if (monitorMatch) {
    const id = decodeURIComponent(monitorMatch[1] as string)
    page = (
      <MonitorPage key={id} id={id} store={store} session={props.session} theme={props.theme} />
    )
  } else {
    page = (
      <main className="page">
        <h1>Not found</h1>
        <p>
          Nothing lives at <code>{pathname}</code>. <Link href="/">See all monitors</Link>.
        </p>
      </main>
    )
  }
  return (
    <>
      <Header
        store={store}
        session={props.session}
        theme={props.theme}
        onToggleTheme={props.onToggleTheme}
        onLogout={props.onLogout}
      />
      {page}
      <Shortcuts />
    </>
  )
}
