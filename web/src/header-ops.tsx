import { useEffect, useRef, useState } from 'react'
import { api } from './api'
import { incidentEvent, streamOpenEvent } from './monitor-store'
import type { Incident, OnCallNow } from './ops-types'
import './ops.css'
import { Link, useLocation } from './router'
import type { Page, Session } from './types'
import { useWindowEvent } from './use-api'

const pages = [
  { href: '/home', label: 'Home', match: (p: string) => p.startsWith('/home') },
  { href: '/', label: 'Monitors', match: (p: string) => p === '/' || p.startsWith('/monitors') },
  { href: '/incidents', label: 'Incidents', match: (p: string) => p.startsWith('/incidents') },
  { href: '/oncall', label: 'On-call', match: (p: string) => p.startsWith('/oncall') },
  { href: '/catalog', label: 'Catalog', match: (p: string) => p.startsWith('/catalog') },
  { href: '/runbooks', label: 'Runbooks', match: (p: string) => p.startsWith('/runbooks') },
  { href: '/silences', label: 'Silences', match: (p: string) => p.startsWith('/silences') },
  {
    href: '/maintenance',
    label: 'Maintenance',
    match: (p: string) => p.startsWith('/maintenance'),
  },
]

// The audit trail's data is admin-only, so only admins get the link.
const adminPages = [{ href: '/audit', label: 'Audit', match: (p: string) => p === '/audit' }]

/** Open incidents, re-counted when the event stream reports an incident change. */
function useOpenIncidents(): { count: number | undefined; more: boolean } {
  const [state, setState] = useState<{ count: number | undefined; more: boolean }>({
    count: undefined,
    more: false,
  })
  const [tick, setTick] = useState(0)
  const timer = useRef<number | undefined>(undefined)
  useEffect(() => {
    const controller = new AbortController()
    api<Page<Incident>>('/api/v1/incidents?status=open&limit=1000', { signal: controller.signal })
      .then((page) => setState({ count: page.items.length, more: page.next !== undefined }))
      .catch(() => undefined)
    return () => controller.abort()
  }, [tick])
  // A burst of changes (an alert storm) is counted once.
  const later = () => {
    window.clearTimeout(timer.current)
    timer.current = window.setTimeout(() => setTick((t) => t + 1), 300)
  }
  useWindowEvent(incidentEvent, later)
  useWindowEvent(streamOpenEvent, later)
  return state
}

/** Fired on `window` after an override was added or removed, so who is on call is read again. */
export const oncallChangedEvent = 'keel:oncall-changed'

/** Who is on call now, read again at the next hand-off rather than on a timer. */
function useOnCallNow(): OnCallNow[] | undefined {
  const [schedules, setSchedules] = useState<OnCallNow[]>()
  const [tick, setTick] = useState(0)
  useEffect(() => {
    const controller = new AbortController()
    let timer: number | undefined
    api<{ at: number; schedules: OnCallNow[] }>('/api/v1/oncall/now', {
      signal: controller.signal,
    })
      .then((answer) => {
        setSchedules(answer.schedules)
        const next = Math.min(
          ...answer.schedules.flatMap((s) => [s.nextHandoff ?? Infinity, s.end ?? Infinity]),
        )
        if (Number.isFinite(next)) {
          // Timers cannot wait longer than ~24.8 days; an hour's re-read is plenty then.
          const wait = Math.min(Math.max(next - Date.now(), 0) + 1_000, 3_600_000)
          timer = window.setTimeout(() => setTick((t) => t + 1), wait)
        }
      })
      .catch(() => undefined)
    return () => {
      controller.abort()
      window.clearTimeout(timer)
    }
  }, [tick])
  useWindowEvent(streamOpenEvent, () => setTick((t) => t + 1))
  useWindowEvent(oncallChangedEvent, () => setTick((t) => t + 1))
  return schedules
}

/** The header's page links, the open incident count and who is on call now. */
export function HeaderOps(props: { session?: Session }) {
  const { pathname } = useLocation()
  const links = props.session?.role === 'admin' ? [...pages, ...adminPages] : pages
  const open = useOpenIncidents()
  const oncall = useOnCallNow()
  const first = oncall?.find((s) => s.user !== undefined) ?? oncall?.[0]
  const title = oncall
    ?.map((s) => `${s.schedule}: ${s.name ?? s.user ?? 'nobody (gap)'}`)
    .join('\n')
  return (
    <>
      <nav className="pages" aria-label="Pages">
        {links.map((page) => (
          <Link
            key={page.href}
            href={page.href}
            className="page-link"
            aria-current={page.match(pathname) ? 'page' : undefined}
          >
            {page.label}
            {page.href === '/incidents' && open.count !== undefined ? (
              <span
                className={`badge${open.count > 0 ? ' badge-hot' : ''}`}
                data-testid="open-incidents"
                title={`${open.count}${open.more ? '+' : ''} open incidents`}
              >
                {open.count}
                {open.more ? '+' : ''}
              </span>
            ) : null}
          </Link>
        ))}
      </nav>
      {first ? (
        <Link
          href="/oncall"
          className="oncall-now"
          data-testid="oncall-now"
          title={`On call now\n${title ?? ''}`}
        >
          <span className="muted">On call</span>{' '}
          <strong>{first.user ? (first.name ?? first.user) : 'nobody'}</strong>
          {oncall && oncall.length > 1 ? (
            <span className="muted"> +{oncall.length - 1}</span>
          ) : null}
        </Link>
      ) : null}
    </>
  )
}
