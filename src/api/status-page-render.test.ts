import { describe, expect, it } from 'vitest'
import type { StatusPageView } from '../core/statuspage/index.js'
import {
  escapeXml,
  renderStatusAtom,
  renderStatusHtml,
  renderStatusRss,
  statusSummaryJson,
} from './status-page-render.js'

const now = Date.UTC(2026, 11, 6, 12)
const nasty = `Tom & Jerry's <script>alert("x")</script>\u0001`

/**
 * A small XML well-formedness check: every tag closes in order, attributes are quoted, and text
 * holds no raw `<` and only the five predefined or numeric entities.
 */
function wellFormedXmlIssues(xml: string): string[] {
  const issues: string[] = []
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '')
  const stack: string[] = []
  const token =
    /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g
  let match: RegExpExecArray | null
  let roots = 0
  while ((match = token.exec(body))) {
    const [all, closing, name, , selfClosing] = match
    if (all === '<' || all === '&') {
      issues.push(`stray ${all} at ${match.index}: ${body.slice(match.index, match.index + 30)}`)
      continue
    }
    if (stack.length === 0 && !closing) roots++
    if (closing) {
      const open = stack.pop()
      if (open !== name) issues.push(`</${name}> closes <${open}>`)
    } else if (!selfClosing) stack.push(name as string)
  }
  if (stack.length > 0) issues.push(`unclosed: ${stack.join(', ')}`)
  if (roots !== 1) issues.push(`${roots} root elements`)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008]/.test(xml)) issues.push('a control character')
  return issues
}

/** Decodes XML's five named entities and numeric references, as an XML parser does once. */
function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_all, ref: string) =>
    ref.startsWith('#x') || ref.startsWith('#X')
      ? String.fromCodePoint(Number.parseInt(ref.slice(2), 16))
      : ref.startsWith('#')
        ? String.fromCodePoint(Number(ref.slice(1)))
        : (named[ref.toLowerCase()] ?? ''),
  )
}

function view(overrides: Partial<StatusPageView> = {}): StatusPageView {
  return {
    title: nasty,
    description: 'All of <Shop> & more',
    url: 'https://status.example.org/status',
    generatedAt: now,
    status: 'partial_outage',
    showIncidents: true,
    groups: [
      {
        name: 'Web & API',
        components: [
          {
            key: 'website',
            name: 'Website "main"',
            status: 'major_outage',
            uptime: 0.98,
            days: [
              { date: '2026-12-05', uptime: 1 },
              { date: '2026-12-06', uptime: 0.5 },
            ],
          },
        ],
      },
    ],
    activeIncidents: [
      {
        id: 7,
        title: 'Outage: Website "main" <b>',
        status: 'investigating',
        impact: 'major',
        components: ['Website "main"'],
        startedAt: now - 3_600_000,
        updates: [
          { at: now - 3_600_000, status: 'investigating', text: 'We are <investigating>.' },
        ],
      },
    ],
    pastIncidents: [],
    maintenance: [
      {
        id: 'upgrade',
        title: "Upgrade & 'restart'",
        state: 'scheduled',
        startsAt: now + 86_400_000,
        endsAt: now + 90_000_000,
        components: ['Website "main"'],
      },
    ],
    ...overrides,
  }
}

describe('escapeXml', () => {
  it('escapes the five special characters and drops control characters', () => {
    expect(escapeXml(`<a href="x">'&'</a>\u0000`)).toBe(
      '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;',
    )
  })
})

describe('status page feeds', () => {
  it.each([
    ['RSS', renderStatusRss],
    ['Atom', renderStatusAtom],
  ] as const)('%s is well-formed XML with every value escaped', (_name, render) => {
    const xml = render(view())
    expect(wellFormedXmlIssues(xml)).toEqual([])
    expect(xml).not.toContain('<script>')
    expect(xml).toContain('Tom &#38; Jerry&#39;s &#60;script&#62;')
    expect(xml).toContain('incident-7')
    expect(xml).toContain('maintenance-upgrade')
  })

  it('RSS descriptions decode, as XML and then as HTML the way readers do, to the text written', () => {
    const text = 'Fixed &lt;script&gt; in the <b>checkout</b> & "cart"'
    const xml = renderStatusRss(
      view({
        activeIncidents: [
          {
            id: 9,
            title: 'Checkout',
            status: 'identified',
            impact: 'minor',
            components: [],
            startedAt: now - 60_000,
            updates: [{ at: now - 60_000, status: 'identified', text }],
          },
        ],
        pastIncidents: [],
        maintenance: [],
      }),
    )
    expect(wellFormedXmlIssues(xml)).toEqual([])
    const description = /<item>[\s\S]*?<description>([^<]*)<\/description>/.exec(xml)?.[1] ?? ''
    const html = decodeEntities(description)
    // The HTML a reader renders holds no tag but the line breaks Keel puts in.
    expect(html.replace(/<br>/g, '')).not.toContain('<')
    expect(decodeEntities(html.replace(/<br>/g, '\n'))).toBe(
      `2026-12-06 11:59 UTC identified: ${text}`,
    )
  })

  it('links in feeds and on the page never carry a javascript: URL', () => {
    const xml = renderStatusRss(view({ url: 'javascript:alert(1)' }))
    expect(xml).not.toContain('javascript:')
    expect(renderStatusAtom(view({ url: 'javascript:alert(1)' }))).not.toContain(
      'href="javascript:',
    )
  })

  it('RSS 2.0 has a channel with dated items and non-permalink guids', () => {
    const xml = renderStatusRss(view())
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<rss version="2.0">/)
    expect(xml).toContain('<guid isPermaLink="false">incident-7</guid>')
    expect(xml).toContain('<pubDate>Sun, 06 Dec 2026 11:00:00 GMT</pubDate>')
    expect(xml).toContain('<link>https://status.example.org/status#incident-7</link>')
  })

  it('Atom 1.0 has ids, an author, and updated times in RFC 3339', () => {
    const xml = renderStatusAtom(view())
    expect(xml).toContain('<feed xmlns="http://www.w3.org/2005/Atom">')
    expect(xml).toContain('<id>https://status.example.org/status#incident-7</id>')
    expect(xml).toContain('<updated>2026-12-06T11:00:00.000Z</updated>')
    expect(xml).toContain('<author><name>')
    expect(xml).toContain('<link rel="self" href="https://status.example.org/status/feed.atom"/>')
  })

  it('uses URN ids when no public URL is known', () => {
    const { url: _url, ...rest } = view()
    const xml = renderStatusAtom(rest)
    expect(xml).toContain('<id>urn:keel:status:incident-7</id>')
    expect(wellFormedXmlIssues(xml)).toEqual([])
  })
})

describe('renderStatusHtml', () => {
  it('is one document without script, with every value escaped', () => {
    const html = renderStatusHtml(view())
    expect(html.startsWith('<!doctype html>')).toBe(true)
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/\son\w+=/i)
    expect(html).toContain('<title>Tom &#38; Jerry&#39;s &#60;script&#62;alert(&#34;x&#34;)')
    expect(html).toContain('Website &#34;main&#34;')
    expect(html).not.toContain('\u0001')
  })

  it('shows the banner, one bar per day with its date and uptime, incidents and maintenance', () => {
    const html = renderStatusHtml(view())
    expect(html).toContain('data-overall="partial_outage">Partial outage</section>')
    expect(html).toContain('<i class="full" title="2026-12-05 · 100.00 %"></i>')
    expect(html).toContain('<i class="bad" title="2026-12-06 · 50.00 %"></i>')
    expect(html).toContain('Active incidents')
    expect(html).toContain('We are &#60;investigating&#62;.')
    expect(html).toContain('Upgrade &#38; &#39;restart&#39;')
    expect(html).toContain('href="/status/feed.rss"')
  })

  it('leaves incident sections out when incidents are not shown', () => {
    const html = renderStatusHtml(view({ showIncidents: false, activeIncidents: [] }))
    expect(html).not.toContain('Past incidents')
    expect(html).not.toContain('Active incidents')
  })

  it('loads nothing from elsewhere unless a logo URL says so', () => {
    const html = renderStatusHtml(view())
    expect(html).not.toMatch(/(src|href)="https?:/)
    const withLogo = renderStatusHtml(view({ logoUrl: 'https://cdn.example.org/logo.svg?a=1&b=2' }))
    expect(withLogo).toContain('<img src="https://cdn.example.org/logo.svg?a=1&#38;b=2" alt="">')
  })
})

describe('statusSummaryJson', () => {
  it('has stable names, ISO times and nulls for absent values', () => {
    const json = statusSummaryJson(view())
    expect(json).toMatchObject({
      page: { updatedAt: '2026-12-06T12:00:00.000Z', url: 'https://status.example.org/status' },
      status: { indicator: 'partial_outage', description: 'Partial outage' },
      groups: [
        {
          name: 'Web & API',
          components: [
            {
              key: 'website',
              status: 'major_outage',
              uptime: 0.98,
              description: null,
              days: [
                { date: '2026-12-05', uptime: 1 },
                { date: '2026-12-06', uptime: 0.5 },
              ],
            },
          ],
        },
      ],
      activeIncidents: [{ id: 7, startedAt: '2026-12-06T11:00:00.000Z', resolvedAt: null }],
      maintenance: [{ id: 'upgrade', state: 'scheduled', startsAt: '2026-12-07T12:00:00.000Z' }],
    })
  })
})
