import { uptimeLevel, uptimePercent } from './format'
import type { RecentUptime, UptimeHour } from './types'

const hourFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })

function hourTitle(hour: UptimeHour): string {
  const span = `${hourFormat.format(hour.start)}–${hourFormat.format(hour.start + 3_600_000)}`
  if (hour.count === 0) return `${span}: no checks`
  const uptime = (hour.count - hour.failures) / hour.count
  return `${span}: ${uptimePercent(uptime)} (${hour.failures} of ${hour.count} checks down)`
}

/**
 * A monitor's last 24 hours as one small segment per hour, coloured by that hour's uptime, with
 * the 30-day uptime beside it. Without figures (not read yet) it keeps its place, empty.
 */
export function UptimeBar(props: { uptime: RecentUptime | undefined }) {
  const { uptime } = props
  if (!uptime) return <span className="uptime" aria-hidden="true" />
  const summary = `Uptime: ${uptimePercent(uptime.last24h)} over 24 h, ${uptimePercent(uptime.last30d)} over 30 days`
  return (
    <span className="uptime" role="img" aria-label={summary} title={summary}>
      <span className="uptime-hours">
        {uptime.hours.map((hour) => (
          <i
            key={hour.start}
            className={`u-${uptimeLevel(hour.count === 0 ? undefined : (hour.count - hour.failures) / hour.count)}`}
            title={hourTitle(hour)}
          />
        ))}
      </span>
      <span className={`uptime-percent u-text-${uptimeLevel(uptime.last30d)}`}>
        {uptimePercent(uptime.last30d)}
      </span>
    </span>
  )
}
