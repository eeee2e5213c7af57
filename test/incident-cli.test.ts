import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprint } from '../src/core/alerts/index.js'
import { processAlertEvents } from '../src/engine/alert-pipeline.js'
import { openStore } from '../src/store/dialect.js'
import { runKeel } from './helpers/cli.js'

const minute = 60_000

const run = (args: string[], cwd: string) => runKeel(args, cwd, { USER: 'dana' })

function firing(labels: Record<string, string>, at: number) {
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: { summary: `${labels.alertname} on ${labels.service}` },
    status: 'firing' as const,
    at,
    source: 'alertmanager',
  }
}

describe('keel incident and keel report', () => {
  let dir: string
  const ids: Record<string, number> = {}

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-incident-cli-'))
    writeFileSync(join(dir, 'keel.yaml'), 'store: { driver: sqlite, path: keel.db }\n')
    // Seed the store the CLI reads, as a running node would have.
    const store = await openStore({ driver: 'sqlite', path: join(dir, 'keel.db') })
    const at = Date.now() - 10 * minute
    const processed = await store.db
      .transaction()
      .execute((trx) =>
        processAlertEvents(
          trx,
          [
            firing(
              { alertname: 'DiskFull', service: 'db-main', team: 'dba', severity: 'critical' },
              at,
            ),
            firing({ alertname: 'Slow', service: 'web', team: 'web', severity: 'warning' }, at),
          ],
          { now: at },
        ),
      )
    ids.db = processed[0]?.incident?.incident.id as number
    ids.web = processed[1]?.incident?.incident.id as number
    await store.close()
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('lists open incidents as a table and as JSON', async () => {
    const table = await run(['incident', 'list'], dir)
    expect(table.code).toBe(0)
    const lines = table.stdout.split('\n')
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+SEVERITY\s+SERVICE\s+ASSIGNEE\s+OPENED\s+TITLE$/)
    expect(lines[1]).toMatch(
      new RegExp(`^#${ids.web}\\s+TRIGGERED\\s+warning\\s+web\\s+-\\s+10m\\S* ago\\s+Slow on web$`),
    )
    expect(lines[2]).toMatch(new RegExp(`^#${ids.db}\\s+TRIGGERED\\s+critical\\s+db-main`))
    expect(table.stdout).toContain('2 open incidents')

    const json = await run(['incident', 'list', '--service', 'db-main', '--json'], dir)
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ id: ids.db, service: 'db-main', status: 'triggered' }),
    ])
    const none = await run(['incident', 'list', '--status', 'resolved'], dir)
    expect(none.stdout.trim()).toBe('No resolved incidents.')
  })

  it('acknowledges, notes and resolves an incident, then shows its timeline', async () => {
    const ack = await run(['incident', 'ack', String(ids.db)], dir)
    expect(ack.code).toBe(0)
    expect(ack.stdout.trim()).toBe(
      `Incident #${ids.db} DiskFull on db-main acknowledged; assigned to cli:dana.`,
    )
    const again = await run(['incident', 'ack', String(ids.db)], dir)
    expect(again.code).toBe(1)
    expect(again.stderr.trim()).toBe(`keel: incident #${ids.db} is already acknowledged`)

    const note = await run(['incident', 'note', `#${ids.db}`, 'swapped', 'the', 'disk'], dir)
    expect(note.stdout.trim()).toBe(`Note added to incident #${ids.db} DiskFull on db-main.`)
    const resolved = await run(
      ['incident', 'resolve', String(ids.db), '--reason', 'disk replaced'],
      dir,
    )
    expect(resolved.code).toBe(0)

    const show = await run(['incident', 'show', String(ids.db)], dir)
    expect(show.code).toBe(0)
    expect(show.stdout).toContain(`#${ids.db} DiskFull on db-main`)
    expect(show.stdout).toMatch(/status:\s+RESOLVED/)
    expect(show.stdout).toMatch(/assignee:\s+cli:dana/)
    const timeline = show.stdout.slice(show.stdout.indexOf('Timeline (UTC):'))
    expect(timeline).toMatch(/keel\s+Incident opened \(critical\): DiskFull on db-main/)
    expect(timeline).toMatch(/cli:dana\s+Acknowledged by cli:dana/)
    expect(timeline).toMatch(/cli:dana\s+swapped the disk/)
    expect(timeline).toMatch(/cli:dana\s+Resolved by cli:dana: disk replaced/)
    expect(show.stdout).toMatch(
      /Alerts \(1\):\nSTATUS\s+STARTED\s+ALERT\nFIRING\s+.*DiskFull on db-main/,
    )

    const json = JSON.parse((await run(['incident', 'show', String(ids.db), '--json'], dir)).stdout)
    expect(json.timeline.map((e: { kind: string }) => e.kind)).toEqual([
      'opened',
      'acknowledged',
      'note',
      'resolved',
    ])
  })

  it('exits 3 for an incident that does not exist and 2 for bad input', async () => {
    const missing = await run(['incident', 'show', '999'], dir)
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain('incident #999 does not exist')
    const empty = await run(['incident', 'note', String(ids.web), ' '], dir)
    expect(empty.code).toBe(2)
    expect(empty.stderr).toContain('text must not be empty')
    const badTime = await run(['report', 'mtta-mttr', '--from', 'last tuesday'], dir)
    expect(badTime.code).toBe(2)
    expect(badTime.stderr).toContain('--from must be an ISO 8601 time')
  })

  it('reports MTTA and MTTR per service and per team', async () => {
    const byService = await run(['report', 'mtta-mttr', '--from', '1d'], dir)
    expect(byService.code).toBe(0)
    const lines = byService.stdout.split('\n')
    expect(lines[0]).toMatch(/^Incidents opened .* by service:$/)
    expect(lines[1]).toMatch(/^SERVICE\s+INCIDENTS\s+ACKED\s+MTTA\s+P50\s+P90\s+RESOLVED\s+MTTR/)
    expect(lines.find((l) => l.startsWith('db-main'))).toMatch(
      /^db-main\s+1\s+1\s+\S+\s+\S+\s+\S+\s+1\s+/,
    )
    expect(lines.find((l) => l.startsWith('web'))).toMatch(/^web\s+1\s+0\s+-\s+-\s+-\s+0\s+-/)

    const json = await run(
      ['report', 'mtta-mttr', '--from', '1d', '--group-by', 'team', '--json'],
      dir,
    )
    const report = JSON.parse(json.stdout)
    expect(report.groupBy).toBe('team')
    expect(report.groups.map((g: { group: string }) => g.group)).toEqual(['dba', 'web'])
    expect(report.overall).toMatchObject({ incidents: 2, acknowledged: 1, resolved: 1 })
  })
})
