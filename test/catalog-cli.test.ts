import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runKeel } from './helpers/cli.js'

const fixtures = resolve('src/config/fixtures/backstage')

const run = (args: string[], cwd: string) => runKeel(args, cwd)

const config = (extra: string) =>
  [
    'store: { driver: sqlite, path: keel.db }',
    'catalog:',
    '  imports: [backstage/**/catalog-info.yaml]',
    '  entities:',
    '    reports:',
    '      kind: service',
    '      owner: team-data',
    '      dependsOn: [db-main, payments-queue]',
    extra,
  ].join('\n')

describe('the catalog in keel.yaml and on the command line', { timeout: 240_000 }, () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keel-catalog-'))
    cpSync(join(fixtures, 'payments'), join(dir, 'backstage/payments'), { recursive: true })
    cpSync(join(fixtures, 'platform'), join(dir, 'backstage/platform'), { recursive: true })
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('validates keel.yaml entities together with Backstage imports, naming file and path', async () => {
    writeFileSync(
      join(dir, 'cycle.yaml'),
      config('    db-host-1:\n      kind: host\n      dependsOn: [reports]'),
    )
    const cycle = await run(['validate', '-c', 'cycle.yaml'], dir)
    expect(cycle.code).toBe(1)
    expect(cycle.stderr).toContain(
      'dependency cycle db-host-1 → reports → db-main → db-host-1; an entity cannot depend on itself through others',
    )
    expect(cycle.stderr).toContain('cycle.yaml: catalog.entities.db-host-1.dependsOn:')
    writeFileSync(
      join(dir, 'missing.yaml'),
      config('  imports: [nowhere/catalog-info.yaml]').replace(
        '  imports: [backstage/**/catalog-info.yaml]\n',
        '',
      ),
    )
    const missing = await run(['validate', '-c', 'missing.yaml'], dir)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(
      'missing.yaml: catalog.imports[0]: nowhere/catalog-info.yaml: no such file (paths are relative to the config file)',
    )
  })

  it('applies, answers keel impact, lists, and prunes entities the config drops', async () => {
    writeFileSync(join(dir, 'keel.yaml'), config(''))
    const apply = await run(['apply', '-c', 'keel.yaml'], dir)
    expect(apply.stderr).toBe('')
    expect(apply.stdout).toContain('+ catalog entity payments-api')
    expect(apply.stdout).toContain('+ catalog entity reports')
    const impact = await run(['impact', 'db-main', '-c', 'keel.yaml'], dir)
    expect(impact.code).toBe(0)
    expect(impact.stdout).toContain('If db-main is down, 6 entities are affected:')
    expect(impact.stdout).toMatch(
      /shop-web\s+website\s+UNKNOWN\s+2\s+shop-web → payments-api → db-main/,
    )
    const json = JSON.parse(
      (await run(['impact', 'db-main', '--json', '-c', 'keel.yaml'], dir)).stdout,
    )
    expect(json.affected.map((a: { id: string }) => a.id)).toEqual([
      'ledger',
      'payments-api',
      'reports',
      'ledger-grpc',
      'payments-rest',
      'shop-web',
    ])
    const list = await run(['catalog', 'list', '--kind', 'database', '-c', 'keel.yaml'], dir)
    expect(list.stdout).toMatch(
      /db-main\s+database\s+team-db\s+-\s+UNKNOWN\s+db-host-1\s+file:.*platform\/catalog-info.yaml/,
    )
    expect((await run(['impact', 'ghost', '-c', 'keel.yaml'], dir)).code).toBe(3)

    writeFileSync(
      join(dir, 'keel.yaml'),
      config('').replace(
        '    reports:\n      kind: service\n      owner: team-data\n      dependsOn: [db-main, payments-queue]\n',
        '    {}\n',
      ),
    )
    const second = await run(['apply', '-c', 'keel.yaml'], dir)
    expect(second.stdout).toContain('- catalog entity reports')
  })

  it('imports a Backstage file with keel catalog import, dry run first', async () => {
    writeFileSync(
      join(dir, 'extra-catalog-info.yaml'),
      [
        'apiVersion: backstage.io/v1alpha1',
        'kind: Component',
        'metadata:',
        '  name: invoices',
        'spec:',
        '  type: service',
        '  owner: group:default/team-payments',
        '  lifecycle: experimental',
        '  dependsOn: [component:default/ledger]',
      ].join('\n'),
    )
    const dry = await run(
      ['catalog', 'import', 'extra-catalog-info.yaml', '--dry-run', '-c', 'keel.yaml'],
      dir,
    )
    expect(dry.stdout).toBe(
      '+ catalog entity invoices\n1 to create, 0 to update, 0 unchanged.\nDry run: nothing was changed.\n',
    )
    expect((await run(['catalog', 'show', 'invoices', '-c', 'keel.yaml'], dir)).code).toBe(3)
    const real = await run(['catalog', 'import', 'extra-catalog-info.yaml', '-c', 'keel.yaml'], dir)
    expect(real.code).toBe(0)
    const show = await run(['catalog', 'show', 'invoices', '-c', 'keel.yaml'], dir)
    expect(show.stdout).toContain('source:     import:extra-catalog-info.yaml\n')
    expect(show.stdout).toContain('depends on: ledger (unknown)')
    // keel apply leaves imported entities alone.
    expect((await run(['apply', '-c', 'keel.yaml'], dir)).stdout).toContain('No changes.')
  })
})
