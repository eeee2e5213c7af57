import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listAudit } from '../src/store/audit.js'
import { openStore } from '../src/store/dialect.js'
import { runKeel } from './helpers/cli.js'

const run = (args: string[], cwd: string) => runKeel(args, cwd, { USER: 'dana' })

const dayMs = 86_400_000

/** A wall-clock date `days` from now as `YYYY-MM-DD` (UTC). */
function dayFromNow(days: number): string {
  return new Date(Date.now() + days * dayMs).toISOString().slice(0, 10)
}

describe('keel oncall override', () => {
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-oncall-cli-'))
    writeFileSync(
      join(dir, 'keel.yaml'),
      [
        'store: { driver: sqlite, path: keel.db }',
        'users:',
        '  ann: { name: Ann Example }',
        '  bob: { name: Bob Example }',
        'schedules:',
        '  primary:',
        '    timeZone: Europe/Berlin',
        '    layers:',
        '      - id: weekly',
        '        users: [ann]',
        `        start: '${dayFromNow(-10)}T09:00'`,
        '        rotation: { every: 1, unit: week }',
        '',
      ].join('\n'),
    )
    const applied = await run(['apply', '-f', 'keel.yaml'], dir)
    expect(applied.stderr).toBe('')
  }, 120_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('adds an override that puts bob on call now, lists it and removes it', async () => {
    const unknown = await run(
      ['oncall', 'override', 'add', 'primary', '--user', 'carol', '--to', '2h'],
      dir,
    )
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^keel: user: user carol is not defined in keel\.yaml/)
    expect(unknown.stderr).toContain('users: ann, bob')

    const badTime = await run(
      ['oncall', 'override', 'add', 'primary', '--user', 'bob', '--to', 'tomorrow'],
      dir,
    )
    expect(badTime.code).toBe(2)
    expect(badTime.stderr).toMatch(/`--to` must be .*got "tomorrow"/)

    const noSchedule = await run(
      ['oncall', 'override', 'add', 'nope', '--user', 'bob', '--to', '2h'],
      dir,
    )
    expect(noSchedule.code).toBe(3)
    expect(noSchedule.stderr).toContain('schedule nope does not exist; schedules: primary')

    // A local time is read in the schedule's zone (Berlin is UTC+1 in winter, +2 in summer).
    const tomorrow = dayFromNow(1)
    const local = await run(
      [
        'oncall',
        'override',
        'add',
        'primary',
        '--user',
        'bob',
        '--from',
        `${tomorrow} 09:00`,
        '--to',
        `${tomorrow}T17:00`,
        '--json',
      ],
      dir,
    )
    expect(local.stderr).toBe('')
    const later = JSON.parse(local.stdout) as { id: string; start: number; end: number }
    expect(later.end - later.start).toBe(8 * 3_600_000)
    expect([`${tomorrow}T09:00:00+01:00`, `${tomorrow}T09:00:00+02:00`].map(Date.parse)).toContain(
      later.start,
    )

    const added = await run(
      ['oncall', 'override', 'add', 'primary', '--user', 'bob', '--to', '2h', '--note', 'swap'],
      dir,
    )
    expect(added.stderr).toBe('')
    expect(added.stdout).toMatch(
      /^Override [0-9a-f-]{36}: bob is on call in primary from \d{4}-\d\d-\d\d \d\d:\d\d \+0[12]:00 to .* \(Europe\/Berlin\)\.\n$/,
    )
    const id = /Override (\S+):/.exec(added.stdout)?.[1] as string

    const list = await run(['oncall', 'override', 'list', 'primary'], dir)
    expect(list.stdout).toContain('FROM (Europe/Berlin)')
    expect(list.stdout).toContain(id.slice(0, 8))
    expect(list.stdout).toContain('bob (Bob Example)')
    expect(list.stdout).toContain('cli:dana')
    expect(list.stdout).toContain('swap')

    const store = await openStore({ driver: 'sqlite', path: join(dir, 'keel.db') })
    try {
      const audit = await listAudit(store.db, { action: 'schedule.override.create' })
      expect(audit.map((a) => a.actor)).toEqual(['cli:dana', 'cli:dana'])
    } finally {
      await store.close()
    }

    const removed = await run(['oncall', 'override', 'remove', 'primary', id.slice(0, 8)], dir)
    expect(removed.stdout).toBe(`Override ${id} removed from primary.\n`)
    const again = await run(['oncall', 'override', 'remove', 'primary', id], dir)
    expect(again.code).toBe(3)
    expect(again.stderr).toContain(`schedule primary has no override ${id}`)

    await run(['oncall', 'override', 'remove', 'primary', later.id], dir)
    const empty = await run(['oncall', 'override', 'list', 'primary'], dir)
    expect(empty.stdout).toBe('No current or upcoming overrides in primary.\n')
  }, 180_000)
})
