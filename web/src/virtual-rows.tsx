import { useLayoutEffect, useRef, useState, type ReactNode } from 'react'

/** Rows above and below the window kept rendered, so fast scrolling shows no gaps. */
const overscan = 8

/**
 * A list of fixed-height rows of which only those in (or near) the browser window are in the
 * DOM, so tens of thousands of monitors scroll as fast as ten. The page itself scrolls.
 */
export function VirtualRows<T>(props: {
  items: readonly T[]
  rowHeight: number
  /** What the list is, for screen readers. */
  label: string
  rowKey: (item: T) => string
  renderRow: (item: T, index: number) => ReactNode
}) {
  const { items, rowHeight } = props
  const ref = useRef<HTMLDivElement>(null)
  const [range, setRange] = useState({ start: 0, end: 40 })

  useLayoutEffect(() => {
    const update = () => {
      const element = ref.current
      if (!element) return
      const top = element.getBoundingClientRect().top
      const start = Math.max(0, Math.floor(-top / rowHeight) - overscan)
      const end = Math.min(
        items.length,
        Math.ceil((window.innerHeight - top) / rowHeight) + overscan,
      )
      setRange((prev) => (prev.start === start && prev.end === end ? prev : { start, end }))
    }
    update()
    window.addEventListener('scroll', update, { passive: true })
    window.addEventListener('resize', update)
    return () => {
      window.removeEventListener('scroll', update)
      window.removeEventListener('resize', update)
    }
  }, [items.length, rowHeight])

  const rows: ReactNode[] = []
  const end = Math.min(range.end, items.length)
  for (let index = range.start; index < end; index++) {
    const item = items[index] as T
    rows.push(
      <div
        key={props.rowKey(item)}
        className="vrow"
        role="listitem"
        aria-posinset={index + 1}
        aria-setsize={items.length}
        style={{ transform: `translateY(${index * rowHeight}px)`, height: rowHeight }}
      >
        {props.renderRow(item, index)}
      </div>,
    )
  }
  return (
    <div
      ref={ref}
      className="vrows"
      role="list"
      aria-label={props.label}
      style={{ height: items.length * rowHeight }}
    >
      {rows}
    </div>
  )
}
