import { createHash } from 'node:crypto'
import {
  formatUptime,
  overallText,
  statusPageDays,
  statusText,
  uptimeLevel,
  type PublicComponent,
  type PublicIncident,
  type PublicMaintenance,
  type StatusPageView,
} from '../core/statuspage/index.js'
import { safeLinkUrl } from '../core/safe-url.js'

// XML 1.0 forbids most control characters even when escaped; drop them rather than emit a
// document a feed reader refuses.
// eslint-disable-next-line no-control-regex
const invalidXmlChars = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g

/** Escapes text for HTML and XML content and attribute values (`<&>"'`), dropping control characters. */
export function escapeXml(text: string): string {
  return text.replace(invalidXmlChars, '').replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const e = escapeXml

/** An `href` value: the URL when `safeLinkUrl` allows it, else the page itself; escaped. */
function href(url: string): string {
  return e(safeLinkUrl(url) ?? '/status')
}

/**
 * RSS readers read `<description>` as HTML, so the text is escaped for HTML (line breaks become
 * `<br>`) and then for XML: a reader decodes it once as XML and shows the original text, and
 * `&lt;script&gt;` written in an update stays that text instead of turning into a tag.
 */
function rssHtml(text: string): string {
  return e(e(text).replace(/\n/g, '<br>'))
}

function iso(at: number): string {
  return new Date(at).toISOString()
}

/** `2026-12-06 03:28 UTC`: the page states its times in UTC, the zone its daily bars use. */
function humanTime(at: number): string {
  return `${iso(at).slice(0, 16).replace('T', ' ')} UTC`
}

function time(at: number): string {
  return `<time datetime="${iso(at)}">${humanTime(at)}</time>`
}

/** The summary JSON (`/status/api/summary.json`): stable camelCase names, ISO 8601 times. */
export function statusSummaryJson(view: StatusPageView): Record<string, unknown> {
  const incident = (i: PublicIncident) => ({
    id: i.id,
    title: i.title,
    status: i.status,
    impact: i.impact,
    components: i.components,
    startedAt: iso(i.startedAt),
    resolvedAt: i.resolvedAt === undefined ? null : iso(i.resolvedAt),
    updates: i.updates.map((u) => ({ at: iso(u.at), status: u.status, text: u.text })),
  })
  return {
    page: {
      title: view.title,
      description: view.description ?? null,
      url: view.url ?? null,
      updatedAt: iso(view.generatedAt),
    },
    status: { indicator: view.status, description: overallText[view.status] },
    groups: view.groups.map((g) => ({
      name: g.name,
      components: g.components.map((c) => ({
        key: c.key,
        name: c.name,
        description: c.description ?? null,
        status: c.status,
        uptime: c.uptime ?? null,
        days: c.days.map((d) => ({ date: d.date, uptime: d.uptime ?? null })),
      })),
    })),
    activeIncidents: view.activeIncidents.map(incident),
    pastIncidents: view.pastIncidents.map(incident),
    maintenance: view.maintenance.map((m) => ({
      id: m.id,
      title: m.title,
      description: m.description ?? null,
      state: m.state,
      startsAt: m.startsAt === undefined ? null : iso(m.startsAt),
      endsAt: m.endsAt === undefined ? null : iso(m.endsAt),
      components: m.components,
    })),
  }
}

/** The page's stylesheet; inline so the page makes no further request, allowed by its hash. */
export const statusPageCss = `
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--text:#1b1f24;--muted:#5b6470;--line:#dde1e6;
--ok:#1f9d55;--high:#7cb342;--low:#f0a020;--bad:#d93c3c;--none:#cfd4da;--maint:#3b7dd8;--deg:#e0a800}
@media (prefers-color-scheme:dark){:root{--bg:#0f1216;--card:#181c22;--text:#e7eaee;--muted:#9aa4b0;
--line:#2a3038;--ok:#2fb36a;--high:#8bc34a;--low:#f2a93b;--bad:#ef5350;--none:#3a414b;--maint:#5b9bf0;--deg:#f0c000}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:860px;margin:0 auto;padding:32px 16px 48px}
a{color:var(--maint)}
.top{display:flex;align-items:center;gap:14px;margin-bottom:24px}
.top img{height:44px;width:auto;max-width:160px}
h1{font-size:26px;margin:0;line-height:1.2}
.top p{margin:2px 0 0;color:var(--muted)}
h2{font-size:17px;margin:0 0 10px}
section{margin-bottom:28px}
.banner{display:flex;align-items:center;gap:10px;padding:16px 18px;border-radius:10px;color:#fff;font-size:18px;font-weight:600}
.banner.operational{background:var(--ok)}.banner.degraded{background:var(--deg);color:#1b1f24}
.banner.partial_outage{background:var(--low);color:#1b1f24}.banner.major_outage{background:var(--bad)}
.banner.maintenance{background:var(--maint)}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin-bottom:12px}
.group{background:var(--card);border:1px solid var(--line);border-radius:10px}
.group h2{padding:14px 16px 0;margin:0}
.component{padding:14px 16px;border-top:1px solid var(--line)}
.group h2+.component{border-top:0}
.row{display:flex;justify-content:space-between;gap:12px;align-items:baseline;flex-wrap:wrap}
.name{font-weight:600}
.desc{color:var(--muted);font-size:13px;margin:2px 0 0}
.st{font-size:14px;font-weight:600}
.st.operational{color:var(--ok)}.st.degraded{color:var(--deg)}.st.partial_outage{color:var(--low)}
.st.major_outage{color:var(--bad)}.st.maintenance{color:var(--maint)}.st.unknown{color:var(--muted)}
.bars{display:flex;gap:2px;height:32px;margin:10px 0 4px}
.bars i{flex:1;border-radius:2px;background:var(--none);min-width:2px}
.bars i.full{background:var(--ok)}.bars i.high{background:var(--high)}.bars i.low{background:var(--low)}.bars i.bad{background:var(--bad)}
.bars i:hover{opacity:.7}
.foot{display:flex;justify-content:space-between;color:var(--muted);font-size:12px}
.short{display:none}
.meta{color:var(--muted);font-size:13px}
.updates{list-style:none;margin:8px 0 0;padding:0}
.updates li{padding:6px 0;border-top:1px solid var(--line);font-size:14px}
.updates b{text-transform:capitalize}
.tag{display:inline-block;font-size:12px;font-weight:600;padding:1px 8px;border-radius:99px;background:var(--line);text-transform:capitalize}
.none-yet{color:var(--muted)}
footer{color:var(--muted);font-size:13px;text-align:center}
@media (max-width:600px){main{padding:20px 12px 36px}h1{font-size:22px}
.bars i:nth-child(-n+${statusPageDays - 30}){display:none}.long{display:none}.short{display:inline}}
`.trim()

/** The `style-src` source that allows exactly `statusPageCss`. */
export const statusPageCssHash = `'sha256-${createHash('sha256').update(statusPageCss).digest('base64')}'`

function componentHtml(c: PublicComponent): string {
  const bars = c.days
    .map(
      (d) =>
        `<i class="${uptimeLevel(d.uptime)}" title="${d.date} · ${formatUptime(d.uptime)}"></i>`,
    )
    .join('')
  return `<div class="component" data-component="${e(c.key)}" data-status="${c.status}">
<div class="row"><span class="name">${e(c.name)}</span><span class="st ${c.status}">${statusText[c.status]}</span></div>
${c.description ? `<p class="desc">${e(c.description)}</p>` : ''}<div class="bars" role="img" aria-label="${e(c.name)}: ${formatUptime(c.uptime)} uptime over ${statusPageDays} days">${bars}</div>
<div class="foot"><span><span class="long">${statusPageDays} days ago</span><span class="short">30 days ago</span></span><span>${formatUptime(c.uptime)} uptime</span><span>Today</span></div>
</div>`
}

function incidentHtml(i: PublicIncident): string {
  const updates = i.updates
    .map(
      (u) => `<li><b>${u.status}</b> — ${e(u.text)} <span class="meta">${time(u.at)}</span></li>`,
    )
    .join('')
  return `<article class="card" id="incident-${i.id}" data-incident="${i.id}">
<div class="row"><span class="name">${e(i.title)}</span><span class="tag">${i.status}</span></div>
<div class="meta">Started ${time(i.startedAt)}${i.resolvedAt !== undefined ? ` · resolved ${time(i.resolvedAt)}` : ''}</div>
<ul class="updates">${updates}</ul>
</article>`
}

function maintenanceWhen(m: PublicMaintenance): string {
  const parts: string[] = []
  if (m.startsAt !== undefined)
    parts.push(`${m.state === 'active' ? 'Started' : 'Starts'} ${time(m.startsAt)}`)
  if (m.endsAt !== undefined)
    parts.push(`${m.state === 'active' ? 'until' : 'ends'} ${time(m.endsAt)}`)
  return parts.join(' · ')
}

function maintenanceHtml(m: PublicMaintenance): string {
  return `<article class="card" id="maintenance-${e(m.id)}" data-maintenance="${e(m.id)}">
<div class="row"><span class="name">${e(m.title)}</span><span class="tag">${m.state === 'active' ? 'in progress' : 'scheduled'}</span></div>
${m.description ? `<p class="desc">${e(m.description)}</p>` : ''}<div class="meta">${maintenanceWhen(m)}${m.components.length > 0 ? ` · affects ${e(m.components.join(', '))}` : ''}</div>
</article>`
}

/** The public status page as one HTML document: no script, no request to anywhere else. */
export function renderStatusHtml(view: StatusPageView): string {
  const title = e(view.title)
  const groups = view.groups
    .map(
      (g) =>
        `<section class="group" aria-label="${e(g.name)}"><h2>${e(g.name)}</h2>\n${g.components.map(componentHtml).join('\n')}</section>`,
    )
    .join('\n')
  const active =
    view.activeIncidents.length === 0
      ? ''
      : `<section aria-labelledby="active"><h2 id="active">Active incidents</h2>${view.activeIncidents.map(incidentHtml).join('\n')}</section>`
  const maintenance =
    view.maintenance.length === 0
      ? ''
      : `<section aria-labelledby="maint"><h2 id="maint">Maintenance</h2>${view.maintenance.map(maintenanceHtml).join('\n')}</section>`
  const past = !view.showIncidents
    ? ''
    : `<section aria-labelledby="past"><h2 id="past">Past incidents</h2>${
        view.pastIncidents.length === 0
          ? '<p class="none-yet">No incidents reported recently.</p>'
          : view.pastIncidents.map(incidentHtml).join('\n')
      }</section>`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>${title}</title>
${view.description ? `<meta name="description" content="${e(view.description)}">\n` : ''}<link rel="alternate" type="application/rss+xml" title="${title} (RSS)" href="${href('/status/feed.rss')}">
<link rel="alternate" type="application/atom+xml" title="${title} (Atom)" href="${href('/status/feed.atom')}">
<style>${statusPageCss}</style>
</head>
<body>
<main>
<header class="top">${view.logoUrl ? `<img src="${e(view.logoUrl)}" alt="">` : ''}<div><h1>${title}</h1>${view.description ? `<p>${e(view.description)}</p>` : ''}</div></header>
<section class="banner ${view.status}" role="status" data-overall="${view.status}">${overallText[view.status]}</section>
${active}
${maintenance}
${groups || '<p class="none-yet">No components are published yet.</p>'}
${past}
<footer>Updated ${time(view.generatedAt)} · <a href="${href('/status/feed.rss')}">RSS</a> · <a href="${href('/status/feed.atom')}">Atom</a> · <a href="${href('/status/api/summary.json')}">JSON</a></footer>
</main>
</body>
</html>
`
}

interface FeedItem {
  id: string
  title: string
  link: string
  published: number
  updated: number
  text: string
}

function feedItems(view: StatusPageView): FeedItem[] {
  const base = view.url ?? '/status'
  const incidents = [...view.activeIncidents, ...view.pastIncidents].map((i) => ({
    id: `incident-${i.id}`,
    title: `${i.title} (${i.status})`,
    link: `${base}#incident-${i.id}`,
    published: i.startedAt,
    updated: Math.max(i.startedAt, ...i.updates.map((u) => u.at)),
    text: i.updates.map((u) => `${humanTime(u.at)} ${u.status}: ${u.text}`).join('\n'),
  }))
  const maintenance = view.maintenance.map((m) => ({
    id: `maintenance-${m.id}`,
    title: `Maintenance: ${m.title} (${m.state === 'active' ? 'in progress' : 'scheduled'})`,
    link: `${base}#maintenance-${m.id}`,
    published: m.startsAt ?? view.generatedAt,
    updated: m.startsAt ?? view.generatedAt,
    text: [
      m.description,
      m.startsAt !== undefined ? `Starts ${humanTime(m.startsAt)}` : undefined,
      m.endsAt !== undefined ? `Ends ${humanTime(m.endsAt)}` : undefined,
      m.components.length > 0 ? `Affects ${m.components.join(', ')}` : undefined,
    ]
      .filter((line) => line !== undefined)
      .join('\n'),
  }))
  return [...incidents, ...maintenance].sort((a, b) => b.updated - a.updated)
}

/** An RSS 2.0 feed of the page's incidents and maintenance. */
export function renderStatusRss(view: StatusPageView): string {
  const link = view.url ?? '/status'
  const items = feedItems(view)
    .map(
      (item) => `<item>
<title>${e(item.title)}</title>
<link>${href(item.link)}</link>
<guid isPermaLink="false">${e(item.id)}</guid>
<pubDate>${new Date(item.updated).toUTCString()}</pubDate>
<description>${rssHtml(item.text)}</description>
</item>`,
    )
    .join('\n')
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<title>${e(view.title)}</title>
<link>${href(link)}</link>
<description>${e(view.description ?? `Incidents and maintenance of ${view.title}`)}</description>
<lastBuildDate>${new Date(view.generatedAt).toUTCString()}</lastBuildDate>
${items}
</channel>
</rss>
`
}

/** An Atom 1.0 feed of the page's incidents and maintenance. */
export function renderStatusAtom(view: StatusPageView): string {
  const link = view.url ?? '/status'
  // Atom ids must be IRIs; without a public URL, a URN keeps them valid and stable.
  const idOf = (local: string) => (view.url ? `${view.url}#${local}` : `urn:keel:status:${local}`)
  const items = feedItems(view)
  const updated = Math.max(view.generatedAt, ...items.map((i) => i.updated))
  const entries = items
    .map(
      (item) => `<entry>
<id>${e(idOf(item.id))}</id>
<title>${e(item.title)}</title>
<link href="${href(item.link)}"/>
<published>${iso(item.published)}</published>
<updated>${iso(item.updated)}</updated>
<content type="text">${e(item.text)}</content>
</entry>`,
    )
    .join('\n')
  return `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<id>${e(idOf('feed'))}</id>
<title>${e(view.title)}</title>
${view.description ? `<subtitle>${e(view.description)}</subtitle>\n` : ''}<link href="${href(link)}"/>
${view.url ? `<link rel="self" href="${href(`${view.url}/feed.atom`)}"/>\n` : ''}<updated>${iso(updated)}</updated>
<author><name>${e(view.title)}</name></author>
${entries}
</feed>
`
}
