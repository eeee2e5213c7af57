import type { MonitorState } from './types'

const labels: Record<MonitorState, string> = {
  up: 'Up',
  down: 'Down',
  degraded: 'Degraded',
  pending: 'Pending',
  paused: 'Paused',
}

/** A monitor state as a coloured chip; the word is always there, so colour is never the only cue. */
export function StateChip(props: { state: MonitorState; flapping?: boolean; large?: boolean }) {
  const { state, flapping, large } = props
  return (
    <span
      className={`chip chip-${state}${large ? ' chip-large' : ''}`}
      data-state={state}
      title={flapping ? `${labels[state]}, flapping` : labels[state]}
    >
      <span className="chip-dot" aria-hidden="true" />
      {labels[state]}
      {flapping ? <span className="chip-flap">flapping</span> : null}
    </span>
  )
}
