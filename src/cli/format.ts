import { isSecretPath, redactUrlPasswords } from '../config/redact.js'
import { formatPlan, formatPlanSummary, type Plan } from '../core/config/index.js'
import { formatDuration } from '../core/time.js'
import type { ApplyPlan } from '../services/apply.js'

/** The plan with the password of each URL in a changed field `<redacted>` (start-up logs it). */
function withUrlPasswordsRedacted<T>(plan: Plan<T>): Plan<T> {
  return {
    ...plan,
    update: plan.update.map((update) => ({
      ...update,
      fields: update.fields.map((field) => ({
        ...field,
        before: redactUrlPasswords(field.before),
        after: redactUrlPasswords(field.after),
      })),
    })),
  }
}

/** The plan of an apply as terraform-like lines, secrets masked, with one summary line. */
export function formatApplyPlan(applyPlan: ApplyPlan): string[] {
  const plan = {
    ...applyPlan,
    channels: withUrlPasswordsRedacted(applyPlan.channels),
    monitors: withUrlPasswordsRedacted(applyPlan.monitors),
  }
  const lines = [
    ...formatPlan(plan.channels, 'channel', {
      summary: false,
      isSecret: (id, path) =>
        isSecretPath('channels', plan.channels.update.find((u) => u.id === id)?.after ?? {}, path),
    }),
    ...formatPlan(plan.monitors, 'monitor', {
      summary: false,
      isSecret: (id, path) =>
        isSecretPath('monitors', plan.monitors.update.find((u) => u.id === id)?.after ?? {}, path),
    }),
    ...(plan.settings ?? []).map(
      (s) => `~ setting ${s.path}: ${JSON.stringify(s.before)} → ${JSON.stringify(s.after)}`,
    ),
    ...(plan.alerting ?? []).map(
      (c) => `${c.before === undefined ? '+' : c.after === undefined ? '-' : '~'} ${c.path}`,
    ),
    ...(plan.incidents ?? []).map(
      (c) => `${c.before === undefined ? '+' : c.after === undefined ? '-' : '~'} ${c.path}`,
    ),
    ...(plan.oncall ?? []).map(
      (c) =>
        `${c.before === undefined ? '+' : c.after === undefined ? '-' : '~'} on-call ${c.path}`,
    ),
    ...(plan.catalog ? formatPlan(plan.catalog, 'catalog entity', { summary: false }) : []),
    ...(plan.statusPage ?? []).map(
      (c) => `${c.before === null ? '+' : c.after === null ? '-' : '~'} status page`,
    ),
  ]
  lines.push(
    formatPlanSummary([plan.channels, plan.monitors, ...(plan.catalog ? [plan.catalog] : [])]),
  )
  return lines
}

/** Renders rows as an aligned text table with a header. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}

/** "3m ago", "2h ago", or "never" for an instant relative to now. */
export function formatAgo(at: number | undefined, now: number): string {
  if (at === undefined) return 'never'
  const ms = Math.max(0, now - at)
  return ms < 1000 ? 'just now' : `${formatDuration(Math.round(ms / 1000) * 1000)} ago`
}
