import { useEffect, useState } from 'react'
import { navigate } from './router'

/** True when a key press belongs to a text field rather than to the page's shortcuts. */
export function isTyping(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null
  return Boolean(
    element && (element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName)),
  )
}

/** `g` then one of these keys goes to a page. */
const goTo: Record<string, { path: string; label: string }> = {
  o: { path: '/', label: 'Overview (monitors)' },
  i: { path: '/incidents', label: 'Incidents' },
  c: { path: '/oncall', label: 'On-call calendar' },
  s: { path: '/silences', label: 'Silences' },
  m: { path: '/maintenance', label: 'Maintenance windows' },
  n: { path: '/monitors/new', label: 'New monitor' },
}

/** Every shortcut, as the help overlay lists it. */
export const shortcutList: { keys: string[]; what: string }[] = [
  ...Object.entries(goTo).map(([key, { label }]) => ({ keys: ['g', key], what: label })),
  { keys: ['/'], what: 'Search monitors (overview)' },
  { keys: ['a'], what: 'Acknowledge the incident (incident page)' },
  { keys: ['n'], what: 'Write a note (incident page)' },
  { keys: ['?'], what: 'Show or hide this help' },
  { keys: ['Esc'], what: 'Close this help' },
]

/** How long after `g` the second key still counts. */
const chordMs = 1500

/** The global keyboard shortcuts and their help overlay (`?`). */
export function Shortcuts() {
  const [help, setHelp] = useState(false)

  useEffect(() => {
    let pendingG = 0
    const onKey = (event: KeyboardEvent) => {
      if (event.metaKey || event.ctrlKey || event.altKey) return
      if (event.key === 'Escape') {
        setHelp(false)
        return
      }
      if (isTyping(event.target)) return
      if (event.key === '?') {
        event.preventDefault()
        setHelp((shown) => !shown)
        return
      }
      if (pendingG && event.timeStamp - pendingG < chordMs) {
        pendingG = 0
        const target = goTo[event.key]
        if (target) {
          event.preventDefault()
          event.stopImmediatePropagation()
          setHelp(false)
          navigate(target.path)
        }
        return
      }
      if (event.key === 'g') pendingG = event.timeStamp
    }
    // Capture phase, so a chord's second key never reaches the page too (`g n` is not "note").
    document.addEventListener('keydown', onKey, true)
    return () => document.removeEventListener('keydown', onKey, true)
  }, [])

  if (!help) return null
  return (
    <div className="overlay" role="presentation" onClick={() => setHelp(false)}>
      <div
        className="overlay-card"
        role="dialog"
        aria-modal="true"
        aria-label="Keyboard shortcuts"
        onClick={(e) => e.stopPropagation()}
      >
        <div className="card-head">
          <h2>Keyboard shortcuts</h2>
          <button type="button" className="button subtle" onClick={() => setHelp(false)}>
            Close
          </button>
        </div>
        <table className="shortcut-table">
          <tbody>
            {shortcutList.map(({ keys, what }) => (
              <tr key={keys.join(' ')}>
                <td className="nowrap">
                  {keys.map((k, i) => (
                    <span key={k}>
                      {i > 0 ? ' then ' : ''}
                      <kbd>{k}</kbd>
                    </span>
                  ))}
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  )
}
