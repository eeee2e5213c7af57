import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { latency } from './format'
import type { Theme } from './theme'

/** One line of the chart; `color` names a CSS variable, so the chart follows the theme. */
export interface ChartSeries {
  label: string
  color: string
  /** Points only, no line (failures). */
  pointsOnly?: boolean
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888'
}

/** A uPlot latency chart: x in seconds since the epoch, y in ms, as wide as its box. */
export function LatencyChart(props: {
  data: uPlot.AlignedData
  series: ChartSeries[]
  theme: Theme
  height?: number
}) {
  const box = useRef<HTMLDivElement>(null)
  const { data, series, theme } = props
  const height = props.height ?? 220

  useEffect(() => {
    const element = box.current
    if (!element) return
    const text = cssVar('--muted')
    const grid = cssVar('--grid')
    const axis: uPlot.Axis = {
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: '12px system-ui, sans-serif',
    }
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
      scales: {
        // A few seconds of raw checks would get millisecond ticks; show at least a minute.
        x: {
          time: true,
          range: (_u, min, max) => (max - min < 60 ? [max - 60, max + 1] : [min, max]),
        },
        y: { range: (_u, min, max) => [0, Math.max(max * 1.1, min + 1, 10)] },
      },
      axes: [axis, { ...axis, size: 64, values: (_u, ticks) => ticks.map((v) => latency(v)) }],
      series: [
        {},
        ...series.map((s): uPlot.Series => {
          const color = cssVar(s.color)
          return s.pointsOnly
            ? {
                label: s.label,
                stroke: color,
                width: 0,
                points: { show: true, size: 7, fill: color, stroke: color },
                value: (_u, v) => (v == null ? '–' : latency(v)),
              }
            : {
                label: s.label,
                stroke: color,
                width: 2,
                // uPlot shows the points itself while they are few enough to tell apart.
                points: { size: 5 },
                spanGaps: false,
                value: (_u, v) => (v == null ? '–' : latency(v)),
              }
        }),
      ],
    }
    const chart = new uPlot(options, data, element)
    const resize = new ResizeObserver(() => {
      chart.setSize({ width: Math.max(element.clientWidth, 200), height })
    })
    resize.observe(element)
    return () => {
      resize.disconnect()
      chart.destroy()
    }
  }, [data, series, theme, height])

  return <div className="chart" ref={box} data-testid="latency-chart" />
}
