import { describe, expect, it } from 'vitest'
import type { Entity } from './entity.js'
import { buildCatalogGraph, neighbourhoodOf } from './graph.js'
import { mermaidDiagram, type DiagramNode } from './mermaid.js'

function entity(id: string, kind: Entity['kind'], dependsOn: string[] = []): Entity {
  return { id, kind, labels: {}, links: [], dependsOn, runbooks: [] }
}

describe('mermaidDiagram', () => {
  it('writes a small graph as flowchart LR text with a class per health', () => {
    const entities = [
      entity('web', 'website', ['api']),
      entity('api', 'api', ['db-main', 'jobs']),
      entity('db-main', 'database'),
      entity('jobs', 'queue'),
    ]
    const { graph } = buildCatalogGraph(entities)
    const health = { web: 'up', api: 'degraded', 'db-main': 'down', jobs: 'unknown' } as const
    const nodes = new Map<string, DiagramNode>(
      entities.map((e) => [
        e.id,
        {
          id: e.id,
          name: e.id === 'db-main' ? 'Main "DB"' : e.id,
          kind: e.kind,
          health: health[e.id as keyof typeof health],
        },
      ]),
    )
    expect(mermaidDiagram(neighbourhoodOf(graph, 'api', 1), nodes)).toBe(
      [
        'flowchart LR',
        '  classDef down fill:#fee2e2,stroke:#b91c1c,color:#7f1d1d',
        '  classDef degraded fill:#fef3c7,stroke:#b45309,color:#78350f',
        '  classDef maintenance fill:#e0e7ff,stroke:#4338ca,color:#312e81',
        '  classDef unknown fill:#f1f5f9,stroke:#64748b,color:#334155',
        '  classDef up fill:#dcfce7,stroke:#15803d,color:#14532d',
        '  classDef focus stroke-width:3px',
        '  e_api{{"api<br/>api"}}:::degraded',
        '  e_db_2d_main[("Main #quot;DB#quot;<br/>database")]:::down',
        '  e_jobs[["jobs<br/>queue"]]:::unknown',
        '  e_web("web<br/>website"):::up',
        '  class e_api focus',
        '  e_api --> e_db_2d_main',
        '  e_api --> e_jobs',
        '  e_web --> e_api',
        '',
      ].join('\n'),
    )
  })

  it.each([
    ['a quote and a click', 'a"] --> click B "javascript:alert(1)'],
    ['a line break and a click', 'a"]\n  click e_a "javascript:alert(1)"\n  e_x["'],
    ['markup and entity codes', '<img src=x onerror=alert(1)> #quot; &amp; `md`'],
  ])('keeps a name with %s inside its label', (_name, name) => {
    const entities = [entity('a', 'service')]
    const { graph } = buildCatalogGraph(entities)
    const nodes = new Map<string, DiagramNode>([
      ['a', { id: 'a', name, kind: 'service', health: 'up' }],
    ])
    const lines = mermaidDiagram(neighbourhoodOf(graph, 'a', 1), nodes)
      .trimEnd()
      .split('\n')
    const node = lines.find((line) => line.startsWith('  e_a('))
    expect(node).toMatch(/^ {2}e_a\("[^"\n<>`]*<br\/>service"\):::up$/)
    expect(lines.filter((line) => /^\s*click\b/.test(line))).toEqual([])
    expect(lines).toHaveLength(9)
  })
})
