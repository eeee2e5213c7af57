import { describe, expect, it } from 'vitest'
import {
  buildCatalogGraph,
  healthColours,
  neighbourhoodOf,
  type DiagramNode,
  type Entity,
  type EntityHealth,
} from '../core/catalog/index.js'
import { renderDiagramSvg } from './diagram-svg.js'

/**
 * A strict enough XML check for generated SVG: every tag closes in order, attributes are quoted
 * and unique, and `&` only starts a known entity.
 */
function xmlProblems(xml: string): string[] {
  const problems: string[] = []
  const stack: string[] = []
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->/g
  let at = 0
  for (let match = tag.exec(xml); match; match = tag.exec(xml)) {
    const text = xml.slice(at, match.index)
    if (/<|&(?!(amp|lt|gt|quot|apos);)/.test(text))
      problems.push(`bad text near ${at}: ${text.slice(0, 40)}`)
    at = tag.lastIndex
    if (match[0].startsWith('<!--')) continue
    const [, closing, name, attributes, selfClosing] = match as unknown as string[]
    const names = [...(attributes ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)].map((m) => {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[2] as string)) problems.push(`bad attribute ${m[1]}`)
      return m[1]
    })
    if (new Set(names).size !== names.length) problems.push(`duplicate attribute in <${name}>`)
    if (closing) {
      const open = stack.pop()
      if (open !== name) problems.push(`</${name}> closes <${open}>`)
    } else if (!selfClosing) stack.push(name as string)
  }
  if (xml.slice(at).trim() !== '') problems.push(`trailing text: ${xml.slice(at, at + 40)}`)
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`)
  return problems
}

function entity(id: string, kind: Entity['kind'], dependsOn: string[] = []): Entity {
  return { id, kind, labels: {}, links: [], dependsOn, runbooks: [] }
}

const entities = [
  entity('shop-web', 'website', ['payments-api', 'search']),
  entity('payments-api', 'service', ['db-main', 'payments-queue']),
  entity('search', 'service', ['db-main']),
  entity('db-main', 'database', ['db-host-1']),
  entity('db-host-1', 'host'),
  entity('payments-queue', 'queue'),
  entity('reports', 'service', ['db-main']),
]
const health: Record<string, EntityHealth> = {
  'shop-web': 'degraded',
  'payments-api': 'up',
  search: 'down',
  'db-main': 'down',
  'db-host-1': 'up',
  'payments-queue': 'maintenance',
  reports: 'unknown',
}
const nodes = new Map<string, DiagramNode>(
  entities.map((e) => [
    e.id,
    {
      id: e.id,
      name: e.id === 'db-main' ? 'Main <database> & "primary"' : e.id,
      kind: e.kind,
      health: health[e.id] as EntityHealth,
    },
  ]),
)
const { graph } = buildCatalogGraph(entities)

describe('renderDiagramSvg', () => {
  it('is well-formed SVG with a title, every neighbour, and a box per entity', async () => {
    const svg = await renderDiagramSvg(neighbourhoodOf(graph, 'db-main', 2), nodes)
    expect(xmlProblems(svg)).toEqual([])
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg).toContain(
      '<title id="keel-diagram-title">Dependencies of Main &lt;database&gt; &amp; &quot;primary&quot;</title>',
    )
    const ids = [...svg.matchAll(/<g class="node[^"]*" data-id="([^"]+)"/g)].map((m) => m[1]).sort()
    expect(ids).toEqual(['db-host-1', 'db-main', 'payments-api', 'reports', 'search', 'shop-web'])
    expect(svg.match(/marker-end="url\(#keel-arrow\)"/g)).toHaveLength(6)
  })

  it('colours each box by its health and outlines the focus', async () => {
    const svg = await renderDiagramSvg(neighbourhoodOf(graph, 'db-main', 1), nodes)
    for (const [id, h] of [
      ['db-main', 'down'],
      ['search', 'down'],
      ['payments-api', 'up'],
      ['reports', 'unknown'],
    ] as const) {
      const box = new RegExp(
        `data-id="${id}" data-health="${h}"[^>]*>\\n<title>[^<]*</title>\\n(?:<rect x="-4"[^>]*/>\\n)?<rect [^>]*fill="${healthColours[h].fill}" stroke="${healthColours[h].stroke}"`,
      )
      expect(svg).toMatch(box)
    }
    expect(svg).toMatch(/<g class="node health-down focus" data-id="db-main"/)
    expect(svg.match(/stroke-width="3"/g)).toHaveLength(1)
    // The legend lists the healths shown, worst first.
    expect([...svg.matchAll(/<text [^>]*fill="#64748b">(\w+)<\/text>/g)].map((m) => m[1])).toEqual([
      'down',
      'unknown',
      'up',
    ])
  })

  it('gives the same bytes for the same input', async () => {
    const a = await renderDiagramSvg(neighbourhoodOf(graph, 'payments-api', 2), nodes)
    const b = await renderDiagramSvg(neighbourhoodOf(graph, 'payments-api', 2), nodes)
    expect(a).toBe(b)
  })

  it('says how many entities a capped diagram leaves out', async () => {
    const svg = await renderDiagramSvg(neighbourhoodOf(graph, 'db-main', 2, 3), nodes)
    expect(xmlProblems(svg)).toEqual([])
    expect(svg.match(/<g class="node/g)).toHaveLength(3)
    expect(svg).toContain('>3 more entities not shown; choose a smaller depth</text>')
  })

  it('draws a lone entity', async () => {
    const lone = buildCatalogGraph([entity('solo', 'endpoint-device')]).graph
    const svg = await renderDiagramSvg(
      neighbourhoodOf(lone, 'solo', 2),
      new Map([['solo', { id: 'solo', name: 'solo', kind: 'endpoint-device', health: 'up' }]]),
    )
    expect(xmlProblems(svg)).toEqual([])
    expect(svg).toContain('data-id="solo"')
  })
})

describe('xmlProblems (the test helper)', () => {
  it.each([
    ['<svg><g></svg>', ['</svg> closes <g>', 'unclosed: svg']],
    ['<svg a="1" a="2"/>', ['duplicate attribute in <svg>']],
    ['<svg>a & b</svg>', ['bad text near 5: a & b']],
  ])('finds the problem in %s', (xml, problems) => {
    expect(xmlProblems(xml)).toEqual(problems)
  })
})
