import type { ElkNode } from 'elkjs/lib/elk.bundled.js'
import {
  entityHealths,
  healthColours,
  type DiagramNode,
  type EntityKind,
  type Neighbourhood,
} from '../core/catalog/index.js'

const nodeHeight = 56
const minWidth = 150
const maxWidth = 260
const maxNameChars = 30
const margin = 16
const legendHeight = 28

// One ELK instance, made on the first diagram (the bundle is large to load): the bundled build
// runs in this thread, with no worker and no network.
let elk: Promise<{ layout(graph: ElkNode): Promise<ElkNode> }> | undefined

function layoutEngine() {
  // elkjs is CommonJS with `exports.default = ELK` and `module.exports = ELK`; TypeScript under
  // NodeNext types the import as the module object, so take the constructor from `.default`.
  elk ??= import('elkjs/lib/elk.bundled.js').then((module) => new module.default.default())
  return elk
}

/** Escapes text for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  )
}

function truncate(text: string): string {
  return [...text].length > maxNameChars
    ? `${[...text].slice(0, maxNameChars - 1).join('')}…`
    : text
}

function widthOf(node: DiagramNode): number {
  // About 7.5 px per character of 13 px system-ui text, plus the icon and the padding.
  const chars = Math.max([...truncate(node.name)].length, node.kind.length + node.health.length + 3)
  return Math.min(maxWidth, Math.max(minWidth, Math.round(chars * 7.5 + 44)))
}

/** A 16×16 outline icon per kind, drawn with the health's text colour. */
function icon(kind: EntityKind, colour: string): string {
  const a = `fill="none" stroke="${colour}" stroke-width="1.5" stroke-linejoin="round"`
  switch (kind) {
    case 'database':
      return `<ellipse cx="8" cy="3.5" rx="6" ry="2.5" ${a}/><path d="M2 3.5v9c0 1.4 2.7 2.5 6 2.5s6-1.1 6-2.5v-9" ${a}/>`
    case 'queue':
      return `<rect x="1" y="4" width="4" height="8" ${a}/><rect x="6" y="4" width="4" height="8" ${a}/><rect x="11" y="4" width="4" height="8" ${a}/>`
    case 'storage':
      return `<rect x="1.5" y="3" width="13" height="11" rx="1" ${a}/><path d="M1.5 7h13" ${a}/>`
    case 'host':
      return `<rect x="1.5" y="2" width="13" height="5" rx="1" ${a}/><rect x="1.5" y="9" width="13" height="5" rx="1" ${a}/>`
    case 'network-device':
      return `<circle cx="8" cy="8" r="6.5" ${a}/><path d="M4 8h8M8 4v8" ${a}/>`
    case 'website':
      return `<circle cx="8" cy="8" r="6.5" ${a}/><ellipse cx="8" cy="8" rx="3" ry="6.5" ${a}/><path d="M1.5 8h13" ${a}/>`
    case 'api':
      return `<path d="M6 2c-2 0-2 1-2 3s-1 3-2 3c1 0 2 1 2 3s0 3 2 3M10 2c2 0 2 1 2 3s1 3 2 3c-1 0-2 1-2 3s0 3-2 3" ${a}/>`
    case 'cloud-resource':
      return `<path d="M4.5 13h7.5a3 3 0 0 0 .4-6 4 4 0 0 0-7.7-1A3.5 3.5 0 0 0 4.5 13z" ${a}/>`
    case 'endpoint-device':
      return `<rect x="3" y="3" width="10" height="7" rx="1" ${a}/><path d="M1 13h14" ${a}/>`
    case 'system':
      return `<rect x="1.5" y="1.5" width="5.5" height="5.5" ${a}/><rect x="9" y="1.5" width="5.5" height="5.5" ${a}/><rect x="1.5" y="9" width="5.5" height="5.5" ${a}/><rect x="9" y="9" width="5.5" height="5.5" ${a}/>`
    default:
      return `<path d="M8 1.5l5.6 3.25v6.5L8 14.5l-5.6-3.25v-6.5z" ${a}/>`
  }
}

const round = (n: number) => Math.round(n * 10) / 10

/**
 * Lays out an entity's neighbourhood with ELK's layered algorithm, left to right (dependents on
 * the left, what they depend on to the right), and renders it as a standalone SVG: rounded boxes
 * coloured by health with a kind icon, arrows for `dependsOn`, the focus entity outlined, a
 * `<title>` on every box for screen readers and tooltips, and a legend. The same input gives the
 * same bytes.
 */
export async function renderDiagramSvg(
  neighbourhood: Neighbourhood,
  nodes: ReadonlyMap<string, DiagramNode>,
): Promise<string> {
  const shown = neighbourhood.ids.filter((id) => nodes.has(id))
  const edges = neighbourhood.edges.filter((e) => nodes.has(e.from) && nodes.has(e.to))
  const input: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.spacing.nodeNode': '20',
      'elk.layered.spacing.nodeNodeBetweenLayers': '56',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.randomSeed': '1',
    },
    children: shown.map((id) => ({
      id,
      width: widthOf(nodes.get(id) as DiagramNode),
      height: nodeHeight,
    })),
    edges: edges.map((e, i) => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
  }
  const graph = await (await layoutEngine()).layout(input)
  const healthsShown = entityHealths.filter((h) => shown.some((id) => nodes.get(id)?.health === h))
  const height = Math.ceil((graph.height ?? 0) + margin * 2 + legendHeight)
  const omittedNote = `${neighbourhood.omitted} more entities not shown; choose a smaller depth`
  // The legend is measured like node text (about 7 px per character at 11 px).
  const legendWidth =
    healthsShown.reduce((sum, h) => sum + 24 + h.length * 7, 0) +
    (neighbourhood.omitted > 0 ? 8 + omittedNote.length * 6 : 0)
  const width = Math.ceil(Math.max((graph.width ?? 0) + margin * 2, legendWidth + margin * 2))
  const focus = nodes.get(neighbourhood.focus)
  const title = `Dependencies of ${focus?.name ?? neighbourhood.focus}`
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="keel-diagram-title keel-diagram-desc" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif">`,
    `<title id="keel-diagram-title">${escapeXml(title)}</title>`,
    `<desc id="keel-diagram-desc">${escapeXml(`${shown.length} entities and ${edges.length} dependsOn links${neighbourhood.omitted > 0 ? ` (${neighbourhood.omitted} more not shown)` : ''}; arrows point from an entity to what it depends on.`)}</desc>`,
    '<defs><marker id="keel-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#94a3b8"/></marker></defs>',
    '<g class="edges" fill="none" stroke="#94a3b8" stroke-width="1.5">',
  ]
  for (const edge of graph.edges ?? []) {
    for (const section of edge.sections ?? []) {
      const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]
      const d = points
        .map((p, i) => `${i === 0 ? 'M' : 'L'}${round(p.x + margin)} ${round(p.y + margin)}`)
        .join('')
      const [from, to] = [edge.sources[0], edge.targets[0]] as [string, string]
      out.push(
        `<path d="${d}" marker-end="url(#keel-arrow)" data-from="${escapeXml(from)}" data-to="${escapeXml(to)}"><title>${escapeXml(`${nodes.get(from)?.name ?? from} depends on ${nodes.get(to)?.name ?? to}`)}</title></path>`,
      )
    }
  }
  out.push('</g>')
  for (const child of graph.children ?? []) {
    const node = nodes.get(child.id) as DiagramNode
    const colour = healthColours[node.health]
    const isFocus = child.id === neighbourhood.focus
    const x = round((child.x ?? 0) + margin)
    const y = round((child.y ?? 0) + margin)
    const w = child.width ?? minWidth
    out.push(
      `<g class="node health-${node.health}${isFocus ? ' focus' : ''}" data-id="${escapeXml(node.id)}" data-health="${node.health}" transform="translate(${x} ${y})">`,
      `<title>${escapeXml(`${node.name} (${node.kind}, ${node.id}): ${node.health}${isFocus ? ' — the entity this diagram is about' : ''}`)}</title>`,
      isFocus
        ? `<rect x="-4" y="-4" width="${w + 8}" height="${nodeHeight + 8}" rx="12" fill="none" stroke="${colour.stroke}" stroke-width="1.5" stroke-dasharray="4 3"/>`
        : '',
      `<rect width="${w}" height="${nodeHeight}" rx="8" fill="${colour.fill}" stroke="${colour.stroke}" stroke-width="${isFocus ? 3 : 1.5}"/>`,
      `<g transform="translate(10 10)">${icon(node.kind, colour.text)}</g>`,
      `<text x="32" y="22" font-size="13" font-weight="600" fill="${colour.text}">${escapeXml(truncate(node.name))}</text>`,
      `<text x="32" y="42" font-size="11" fill="${colour.text}">${escapeXml(node.kind)} · ${node.health}</text>`,
      '</g>',
    )
  }
  let legendX = margin
  const legendY = height - legendHeight + 4
  out.push('<g class="legend" font-size="11">')
  for (const health of healthsShown) {
    const colour = healthColours[health]
    out.push(
      `<rect x="${legendX}" y="${legendY}" width="12" height="12" rx="3" fill="${colour.fill}" stroke="${colour.stroke}"/>`,
      `<text x="${legendX + 16}" y="${legendY + 10}" fill="#64748b">${health}</text>`,
    )
    legendX += 24 + health.length * 7
  }
  if (neighbourhood.omitted > 0) {
    out.push(`<text x="${legendX + 8}" y="${legendY + 10}" fill="#64748b">${omittedNote}</text>`)
  }
  out.push('</g>', '</svg>')
  return `${out.filter((line) => line !== '').join('\n')}\n`
}
