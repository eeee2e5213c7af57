import { HeaderOps } from './header-ops'
import { MoonIcon, SunIcon, KeelLogo } from './icons'
import { countByState, type Connection, type MonitorStore } from './monitor-store'
import { Link } from './router'
import type { Theme } from './theme'
import type { MonitorState, Session } from './types'

const shown: MonitorState[] = ['up', 'down', 'degraded', 'paused']

const connectionText: Record<Connection, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
}

/** The bar on every page: name, counts by state, live status, theme toggle and logout. */
export function Header(props: {
  store: MonitorStore
  session: Session
  theme: Theme
  onToggleTheme: () => void
  onLogout: () => void
}) {
  const { store, session, theme } = props
  const counts = countByState(store)
  return (
    <header className="topbar">
      <Link href="/" className="brand" aria-label="Keel: all monitors">
        <KeelLogo />
        <span>Keel</span>
      </Link>
      <nav className="counts" aria-label="Monitors by state">
        {shown.map((state) => (
          <Link
            key={state}
            href={`/?state=${state}`}
            className={`count count-${state}${counts[state] === 0 ? ' count-zero' : ''}`}
            data-count={state}
            title={`Show ${state} monitors`}
          >
            <span className="count-n">{counts[state]}</span>
            <span className="count-label">{state}</span>
          </Link>
        ))}
        {counts.pending > 0 ? (
          <Link href="/?state=pending" className="count count-pending" data-count="pending">
            <span className="count-n">{counts.pending}</span>
            <span className="count-label">pending</span>
          </Link>
        ) : null}
      </nav>
      <HeaderOps session={session} />
      <div className="topbar-end">
        <span className={`live live-${store.connection}`} role="status" title="Live updates">
          <span className="live-dot" aria-hidden="true" />
          <span className="live-text">{connectionText[store.connection]}</span>
        </span>
        <button
          type="button"
          className="icon-button"
          onClick={props.onToggleTheme}
          aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
          title={theme === 'dark' ? 'Light theme' : 'Dark theme'}
        >
          {theme === 'dark' ? <SunIcon /> : <MoonIcon />}
        </button>
        <button
          type="button"
          className="button subtle logout"
          onClick={props.onLogout}
          title={`Signed in as ${session.name} (${session.role})`}
        >
          Log out
        </button>
      </div>
    </header>
  )
}
