import type { ReactNode } from 'react'
import { IncidentPage } from './incident-page'
import { IncidentsPage } from './incidents-page'
import { MonitorForm } from './monitor-form'
import type { MonitorStore } from './monitor-store'
import { OncallPage } from './oncall-page'
import { RoleHomePage, RoleHomePicker } from './role-home-page'
import { RunbookPage, RunbooksPage } from './runbook-page'
import { MaintenancePage, SilencesPage } from './silences-page'
import type { Session } from './types'

/**
 * The page for incidents, on-call, silences, maintenance and the monitor form, or undefined when
 * `pathname` is none of theirs. Each path is also listed in src/api/ui-routes.ts.
 */
export function opsPage(props: {
  pathname: string
  search: URLSearchParams
  session: Session
  store: MonitorStore
}): ReactNode | undefined {
  const { pathname, search, session, store } = props
  const path = pathname.replace(/\/+$/, '') || '/'
  if (path === '/incidents') return <IncidentsPage search={search} />
  const incident = /^\/incidents\/([^/]+)$/.exec(path)
  if (incident) {
    const id = decodeURIComponent(incident[1] as string)
    return <IncidentPage key={id} id={id} session={session} />
  }
  if (path === '/runbooks') return <RunbooksPage search={search} />
  const runbook = /^\/runbooks\/([^/]+)$/.exec(path)
  if (runbook) {
    const name = decodeURIComponent(runbook[1] as string)
    return <RunbookPage key={name} name={name} session={session} search={search} />
  }
  if (path === '/oncall') return <OncallPage search={search} session={session} />
  if (path === '/home') return <RoleHomePicker />
  const home = /^\/home\/([^/]+)$/.exec(path)
  if (home) {
    const role = decodeURIComponent(home[1] as string)
    return <RoleHomePage key={role} role={role} search={search} store={store} />
  }
  if (path === '/silences') return <SilencesPage session={session} />
  if (path === '/maintenance') return <MaintenancePage session={session} />
  if (path === '/monitors/new') return <MonitorForm key="new" store={store} session={session} />
  const edit = /^\/monitors\/([^/]+)\/edit$/.exec(path)
  if (edit) {
    const id = decodeURIComponent(edit[1] as string)
    return <MonitorForm key={id} id={id} store={store} session={session} />
  }
  return undefined
}
