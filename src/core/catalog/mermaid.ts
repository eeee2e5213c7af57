import type { EntityKind } from './entity.js'
import type { Neighbourhood } from './graph.js'
import { entityHealths, type EntityHealth } from './health.js'

/** Fill, stroke and text colour of each health, shared by the Mermaid and SVG diagrams. */
export const healthColours: Record<EntityHealth, { fill: string; stroke: string; text: string }> = {
  up: { fill: '#dcfce7', stroke: '#15803d', text: '#14532d' },
  degraded: { fill: '#fef3c7', stroke: '#b45309', text: '#78350f' },
  down: { fill: '#fee2e2', stroke: '#b91c1c', text: '#7f1d1d' },
  maintenance: { fill: '#e0e7ff', stroke: '#4338ca', text: '#312e81' },
  unknown: { fill: '#f1f5f9', stroke: '#64748b', text: '#334155' },
}

/** What a diagram shows of each entity in a neighbourhood. */
export interface DiagramNode {
  id: string
  name: string
  kind: EntityKind
  health: EntityHealth
}

function mermaidId(id: string): string {
  // Mermaid ids may not hold `-` runs or dots safely; the prefix keeps `end`/`graph` out of keywords.
  return `e_${id.replace(/[^a-zA-Z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16)}_`)}`
}

// Mermaid decodes `#name;` and `#123;` entity codes inside a quoted label after parsing, so each
// character that could end the label, start an entity, markup or a Markdown string, or a new
// statement (a line break) is written as a code: a name cannot add a `click` or a node.
const mermaidCodes: Record<string, string> = {
  '"': '#quot;',
  '#': '#35;',
  '&': '#38;',
  '<': '#60;',
  '>': '#62;',
  '`': '#96;',
}

/** Text for inside a quoted Mermaid label, read by Mermaid as exactly the text given. */
export function escapeMermaidLabel(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]+/g, ' ').replace(/["#&<>`]/g, (c) => mermaidCodes[c] ?? c)
}

function mermaidLabel(node: DiagramNode): string {
  return `"${escapeMermaidLabel(node.name)}<br/>${escapeMermaidLabel(node.kind)}"`
}

const shapes: Partial<Record<EntityKind, [string, string]>> = {
  database: ['[(', ')]'],
  queue: ['[[', ']]'],
  api: ['{{', '}}'],
  system: ['[', ']'],
}

/**
 * The neighbourhood as Mermaid `flowchart LR` text: one node per entity (databases as
 * cylinders, queues as subroutines, APIs as hexagons), one `-->` per `dependsOn` link from the
 * dependent to its dependency, a class per health and `focus` on the entity asked about.
 */
export function mermaidDiagram(
  neighbourhood: Neighbourhood,
  nodes: ReadonlyMap<string, DiagramNode>,
): string {
  const lines = ['flowchart LR']
  for (const health of entityHealths) {
    const colour = healthColours[health]
    lines.push(
      `  classDef ${health} fill:${colour.fill},stroke:${colour.stroke},color:${colour.text}`,
    )
  }
  lines.push('  classDef focus stroke-width:3px')
  for (const id of neighbourhood.ids) {
    const node = nodes.get(id)
    if (node === undefined) continue
    const [open, close] = shapes[node.kind] ?? ['(', ')']
    lines.push(`  ${mermaidId(id)}${open}${mermaidLabel(node)}${close}:::${node.health}`)
  }
  if (nodes.has(neighbourhood.focus)) lines.push(`  class ${mermaidId(neighbourhood.focus)} focus`)
  for (const edge of neighbourhood.edges) {
    if (nodes.has(edge.from) && nodes.has(edge.to))
      lines.push(`  ${mermaidId(edge.from)} --> ${mermaidId(edge.to)}`)
  }
  if (neighbourhood.omitted > 0)
    lines.push(`  %% ${neighbourhood.omitted} more entities not shown; ask for a smaller depth`)
  return `${lines.join('\n')}\n`
}
