import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fingerprint } from '../src/core/alerts/index.js'
import { processAlertEvents } from '../src/engine/alert-pipeline.js'
import { getAlert } from '../src/store/alerts.js'
import { openStore } from '../src/store/dialect.js'
import { runKeel } from './helpers/cli.js'

const run = (args: string[], cwd: string) => runKeel(args, cwd, { USER: 'dana' })

const labels = { alertname: 'DiskFull', service: 'files', severity: 'warning' }

describe('keel silence and keel maintenance', () => {
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-silence-cli-'))
    writeFileSync(
      join(dir, 'keel.yaml'),
      [
        'store: { driver: sqlite, path: keel.db }',
        'alerting:',
        '  maintenance:',
        '    - id: sunday-patching',
        '      title: Sunday patching',
        '      matchers: [\'service="web"\']',
        '      timeZone: Europe/Berlin',
        '      recurring: { days: [sun], from: "02:00", to: "04:00" }',
        '',
      ].join('\n'),
    )
    const applied = await run(['apply', '-f', 'keel.yaml'], dir)
    expect(applied.stderr).toBe('')
    const store = await openStore({ driver: 'sqlite', path: join(dir, 'keel.db') })
    const at = Date.now()
    await store.db.transaction().execute((trx) =>
      processAlertEvents(
        trx,
        [
          {
            fingerprint: fingerprint(labels),
            labels,
            annotations: {},
            status: 'firing',
            at,
            source: 'generic',
          },
        ],
        { now: at },
      ),
    )
    await store.close()
  }, 120_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('adds a silence that mutes a firing alert, lists it and expires it', async () => {
    const bad = await run(['silence', 'add', 'service=~".*"', '-m', 'all'], dir)
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/does not match the empty string/)

    const added = await run(
      ['silence', 'add', 'service="files"', '--for', '1h', '-m', 'disk swap'],
      dir,
    )
    expect(added.stderr).toBe('')
    expect(added.stdout).toMatch(/^Silence [0-9a-f-]{36} is active until /)
    const id = /Silence (\S+)/.exec(added.stdout)?.[1] as string

    const store = await openStore({ driver: 'sqlite', path: join(dir, 'keel.db') })
    expect((await getAlert(store.db, fingerprint(labels)))?.suppressedBy).toBe(`silence:${id}`)
    await store.close()

    const list = await run(['silence', 'list'], dir)
    expect(list.stdout).toContain(id.slice(0, 8))
    expect(list.stdout).toContain('service="files"')
    expect(list.stdout).toContain('dana')

    const expired = await run(['silence', 'expire', id.slice(0, 8)], dir)
    expect(expired.stdout).toBe(`Silence ${id} expired.\n`)
    const after = await run(['silence', 'list'], dir)
    expect(after.stdout).toBe('No silences.\n')
  }, 180_000)

  it('lists maintenance windows from keel.yaml', async () => {
    const result = await run(['maintenance'], dir)
    expect(result.stdout).toMatch(/sunday-patching\s+(scheduled|active)\s+Sunday patching/)
    expect(result.stdout).toContain('sun 02:00-04:00 Europe/Berlin')
  }, 60_000)
})
