/**
 * The URL schemes Keel stores as links and renders as links: everything else (`javascript:`,
 * `data:`, `vbscript:`, `file:`, custom app schemes) runs code or reads local data when followed.
 */
export const safeUrlSchemes = ['http:', 'https:', 'mailto:'] as const

// Browsers drop ASCII tab and newlines inside a scheme and trim C0 controls and spaces around a
// URL (WHATWG URL, "basic URL parser"), so `java\tscript:` is still `javascript:` to them.
// eslint-disable-next-line no-control-regex
const ignoredByBrowsers = /[\u0000-\u0020\u007F]/g

/**
 * The URL when it is safe to store or render as a link: an absolute `http:`, `https:` or `mailto:`
 * URL, or a path on this server (`/x`, not `//host`); undefined for anything else. The one place
 * Keel decides this, used by the catalog schema, the web UI and the status page.
 */
export function safeLinkUrl(url: string): string | undefined {
  const trimmed = url.trim()
  if (trimmed === '') return undefined
  if (/^\/(?![/\\])/.test(trimmed)) return trimmed
  const scheme = /^([^:/?#]+):/.exec(trimmed.replace(ignoredByBrowsers, ''))?.[1]?.toLowerCase()
  if (scheme === undefined) return undefined
  if (!(safeUrlSchemes as readonly string[]).includes(`${scheme}:`)) return undefined
  // The scheme read after dropping controls must be the one written, or a browser may disagree.
  if (!trimmed.toLowerCase().startsWith(`${scheme}:`)) return undefined
  if (scheme !== 'mailto' && !/^https?:\/\/[^/\\\s?#]/i.test(trimmed)) return undefined
  return trimmed
}
