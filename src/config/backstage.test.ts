import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { buildCatalogGraph } from '../core/catalog/index.js'
import {
  applyProvidedApis,
  keelKindOf,
  parseBackstageCatalog,
  parseEntityRef,
} from './backstage.js'

function fixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`fixtures/backstage/${name}`, import.meta.url)), 'utf8')
}

describe('parseBackstageCatalog', () => {
  it('imports a real-shaped payments catalog file unchanged', () => {
    const result = parseBackstageCatalog(fixture('payments/catalog-info.yaml'), 'payments.yaml')
    expect(result.errors).toEqual([])
    expect(result.warnings).toEqual([])
    expect(result.teams).toEqual([{ id: 'team-payments', name: 'Payments team' }])
    expect(result.entities.map((e) => [e.id, e.kind])).toEqual([
      ['payments', 'system'],
      ['payments-api', 'service'],
      ['payments-rest', 'api'],
      ['ledger', 'service'],
      ['ledger-grpc', 'api'],
      ['payments-queue', 'queue'],
    ])
    expect(result.entities.find((e) => e.id === 'payments-api')).toEqual({
      id: 'payments-api',
      kind: 'service',
      name: 'Payments API',
      description: 'The HTTP service the shop and the mobile apps call to charge a card.',
      owner: 'team-payments',
      tier: 1,
      lifecycle: 'production',
      system: 'payments',
      labels: { tier: '1', backstage_io_custom: 'example' },
      links: [
        { url: 'https://grafana.example.org/d/payments', title: 'Payments dashboard' },
        { url: 'https://wiki.example.org/payments' },
      ],
      dependsOn: ['db-main', 'payments-queue', 'ledger', 'ledger-grpc'],
      runbooks: [],
    })
    // An API depends on the component that provides it.
    expect(result.entities.find((e) => e.id === 'payments-rest')?.dependsOn).toEqual([
      'payments-api',
    ])
    expect(result.entities.find((e) => e.id === 'ledger-grpc')?.dependsOn).toEqual(['ledger'])
  })

  it('skips users and locations with a warning and maps resource types', () => {
    const result = parseBackstageCatalog(fixture('platform/catalog-info.yaml'), 'platform.yaml')
    expect(result.errors).toEqual([])
    expect(result.warnings).toEqual([
      'platform.yaml: document 5 (User jdoe): kind User is not imported; Keel imports Component, Resource, System, API and Group',
      'platform.yaml: document 6 (Location more-components): kind Location is not imported; Keel imports Component, Resource, System, API and Group',
    ])
    expect(result.entities.map((e) => [e.id, e.kind, e.owner, e.dependsOn])).toEqual([
      ['db-main', 'database', 'team-db', ['db-host-1']],
      ['db-host-1', 'host', 'team-db', []],
      ['shop-web', 'website', 'team-web', ['payments-api']],
    ])
  })

  it('builds one valid graph from both files together', () => {
    const files = ['payments/catalog-info.yaml', 'platform/catalog-info.yaml'].map((name) =>
      parseBackstageCatalog(fixture(name), name),
    )
    const entities = files.flatMap((f) => f.entities)
    applyProvidedApis(
      entities,
      files.flatMap((f) => f.provides),
    )
    const { issues } = buildCatalogGraph(entities)
    expect(issues).toEqual([])
  })

  it('names file, document, entity and field for every mistake', () => {
    const result = parseBackstageCatalog(fixture('broken-catalog-info.yaml'), 'broken.yaml')
    expect(result.errors).toEqual([
      'broken.yaml: document 1 (Component checkout): spec.owner must be a group reference such as group:default/team-db or team-db, got 42',
      'broken.yaml: document 1 (Component checkout): spec.dependsOn[1] must be an entity reference such as resource:default/db-main, got "not a ref"',
      'broken.yaml: document 2: apiVersion must be backstage.io/v1alpha1 (or another backstage.io/ version), got "v1"',
      'broken.yaml: document 3 (Resource cache): spec.dependsOn must be a list of entity references, got "resource:default/db-main"',
    ])
    expect(result.warnings).toEqual([
      'broken.yaml: document 4 (Componnent typo): kind Componnent is not imported; Keel imports Component, Resource, System, API and Group (check the spelling)',
    ])
    expect(result.entities).toEqual([])
  })

  it.each([
    ['__proto__', 'must be a name of letters'],
    ['constructor', 'cannot be a key or id: __proto__, constructor and prototype are reserved'],
    ['prototype', 'cannot be a key or id: __proto__, constructor and prototype are reserved'],
  ])('refuses an entity named %s', (name, message) => {
    const result = parseBackstageCatalog(
      `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: ${name} }\nspec: { type: service, owner: team-db }\n`,
      'evil.yaml',
    )
    expect(result.entities).toEqual([])
    expect(result.errors).toEqual([expect.stringContaining(`metadata.name`)])
    expect(result.errors[0]).toContain(message)
    expect(({} as Record<string, unknown>).type).toBeUndefined()
  })

  it('reports YAML syntax errors with their line', () => {
    const result = parseBackstageCatalog('kind: [unclosed\n', 'bad.yaml')
    expect(result.errors[0]).toMatch(/^bad\.yaml:\d+:\d+: document 1: Flow sequence/)
  })
})

describe('parseEntityRef and keelKindOf', () => {
  it.each([
    ['resource:default/db-main', { kind: 'resource', namespace: 'default', name: 'db-main' }],
    ['component:payments', { kind: 'component', namespace: 'default', name: 'payments' }],
    ['team-db', { namespace: 'default', name: 'team-db' }],
    ['Group:Ops/Team-DB', { kind: 'group', namespace: 'ops', name: 'team-db' }],
    ['not a ref', undefined],
    ['a/b/c', undefined],
  ])('parses %s', (ref, parsed) => {
    expect(parseEntityRef(ref)).toEqual(parsed)
  })

  it.each([
    ['Component', 'service', 'service'],
    ['Component', 'website', 'website'],
    ['Component', 'library', 'service'],
    ['Resource', 'database', 'database'],
    ['Resource', 's3-bucket', 'storage'],
    ['Resource', 'kafka-topic', 'queue'],
    ['Resource', 'vm', 'host'],
    ['Resource', 'load-balancer', 'network-device'],
    ['Resource', 'laptop', 'endpoint-device'],
    ['Resource', 'lambda', 'cloud-resource'],
    ['API', 'openapi', 'api'],
    ['System', undefined, 'system'],
    ['Domain', undefined, undefined],
  ])('maps %s of type %s to %s', (kind, type, keel) => {
    expect(keelKindOf(kind, type)).toBe(keel)
  })
})
