import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { expandImport } from './catalog.js'
import { loadConfig } from './load.js'

const fixtures = fileURLToPath(new URL('fixtures/backstage/', import.meta.url))

describe('the catalog section with Backstage imports', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'keel-catalog-config-'))
    cpSync(path.join(fixtures, 'payments'), path.join(dir, 'repos/payments'), { recursive: true })
    cpSync(path.join(fixtures, 'platform'), path.join(dir, 'repos/platform'), { recursive: true })
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('reads the imports, lets keel.yaml replace an imported entity, and records each source', async () => {
    const file = path.join(dir, 'keel.yaml')
    writeFileSync(
      file,
      [
        'catalog:',
        '  imports: [repos/**/catalog-info.yaml]',
        '  entities:',
        '    db-main: { kind: database, tier: 1, runbooks: [db-failover], dependsOn: [db-host-1] }',
      ].join('\n'),
    )
    const loaded = await loadConfig(file, {})
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues))
    const catalog = loaded.catalog
    expect(Object.keys(catalog?.entities ?? {})).toEqual([
      'db-host-1',
      'db-main',
      'ledger',
      'ledger-grpc',
      'payments',
      'payments-api',
      'payments-queue',
      'payments-rest',
      'shop-web',
    ])
    expect(catalog?.entities['db-main']).toEqual({
      kind: 'database',
      tier: 1,
      labels: {},
      links: [],
      dependsOn: ['db-host-1'],
      runbooks: ['db-failover'],
    })
    expect(catalog?.sources['db-main']).toBe(file)
    expect(catalog?.sources['payments-api']).toBe(
      path.join(dir, 'repos/payments/catalog-info.yaml'),
    )
    expect(catalog?.teams.map((t) => t.id)).toEqual(['team-payments', 'team-db'])
    expect(catalog?.warnings).toHaveLength(2)
  })

  it('names the file of an inline entity in a directory config', async () => {
    const conf = path.join(dir, 'conf.d')
    mkdirSync(conf)
    writeFileSync(path.join(conf, '10-base.yaml'), 'store: { driver: sqlite, path: keel.db }\n')
    writeFileSync(
      path.join(conf, '20-catalog.yaml'),
      'catalog:\n  entities:\n    api: { kind: service, dependsOn: [ghost] }\n',
    )
    const loaded = await loadConfig(conf, {})
    expect(loaded.ok).toBe(false)
    if (loaded.ok) return
    expect(loaded.issues).toEqual([
      {
        file: path.join(conf, '20-catalog.yaml'),
        path: 'catalog.entities.api.dependsOn',
        message:
          'entity api depends on unknown entity ghost; define ghost in the catalog or remove it from dependsOn',
      },
    ])
  })

  it.each([
    [
      'keel.yaml',
      '    db-main: { kind: database, links: [{ url: "javascript:alert(1)" }] }',
      'catalog.entities.db-main.links[0].url',
    ],
    ['a Backstage import', '  imports: [repos/evil.yaml]', 'metadata.links.0.url'],
  ])('refuses a javascript: or data: link in %s, naming the field', async (_where, line, field) => {
    writeFileSync(
      path.join(dir, 'repos/evil.yaml'),
      [
        'apiVersion: backstage.io/v1alpha1',
        'kind: Component',
        'metadata:',
        '  name: evil',
        '  links: [{ url: "data:text/html,<script>alert(1)</script>", title: Docs }]',
        'spec: { type: service, owner: team-db }',
      ].join('\n'),
    )
    const file = path.join(dir, 'keel.yaml')
    writeFileSync(file, ['catalog:', line.startsWith('    ') ? '  entities:' : '', line].join('\n'))
    const loaded = await loadConfig(file, {})
    expect(loaded.ok).toBe(false)
    if (loaded.ok) return
    const issues = loaded.issues.map((i) => `${i.path}: ${i.message}`).join('\n')
    expect(issues).toContain(field)
    expect(issues).toContain('must be an http(s) or mailto: URL')
  })

  it('refuses the same entity in two imported files', async () => {
    cpSync(path.join(dir, 'repos/platform'), path.join(dir, 'repos/platform-copy'), {
      recursive: true,
    })
    const file = path.join(dir, 'keel.yaml')
    writeFileSync(file, 'catalog:\n  imports: [repos/platform*/catalog-info.yaml]\n')
    const loaded = await loadConfig(file, {})
    expect(loaded.ok).toBe(false)
    if (loaded.ok) return
    expect(loaded.issues.map((i) => i.message)).toContain(
      `entity db-main is also defined in ${path.join(dir, 'repos/platform-copy/catalog-info.yaml')}; each imported entity must be defined once (rename one, or give it a namespace)`,
    )
  })

  it.each([
    ['repos/*/catalog-info.yaml', 2],
    ['repos/**/*.yaml', 2],
    ['repos/pay?ents/catalog-info.yaml', 1],
    ['repos/payments/catalog-info.yaml', 1],
  ])('expands %s to %i files', async (pattern, count) => {
    const expanded = await expandImport(pattern, dir)
    expect('files' in expanded ? expanded.files.length : expanded.error).toBe(count)
  })

  it.each([
    ['nothing/*.yaml', 'nothing/*.yaml: folder nothing does not exist'],
    [
      'repos/*.json',
      'repos/*.json matches no files; fix the pattern or remove it from catalog.imports',
    ],
    ['repos', 'repos is not a file'],
  ])('explains why %s imports nothing', async (pattern, error) => {
    expect(await expandImport(pattern, dir)).toEqual({ error })
  })
})
