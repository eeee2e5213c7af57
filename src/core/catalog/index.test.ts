import { describe, expect, it } from 'vitest'
import * as catalog from './index.js'

describe('the catalog domain index', () => {
  it('exports exactly the catalog functions and constants other domains may use', () => {
    expect(Object.keys(catalog).sort()).toEqual([
      'buildCatalogGraph',
      'catalogHealth',
      'entityHealthOf',
      'entityHealths',
      'entityIdSchema',
      'entityKinds',
      'entityLabel',
      'entityOfLabels',
      'entitySpecSchema',
      'groupByRootCause',
      'healthColours',
      'impactOf',
      'knownLifecycles',
      'mermaidDiagram',
      'neighbourhoodOf',
      'probableRootCause',
      'serviceLabel',
      'walkGraph',
    ])
  })
})
