import type { NotificationMessage } from './channel.js'

/** The mark a shortened text ends with; one UTF-16 unit, three UTF-8 bytes. */
const ellipsis = '…'

/**
 * Shortens text to at most `maxLength` UTF-16 units, ending with `…` when cut. Platforms count
 * characters differently (code points, UTF-16 units); UTF-16 length is never the smaller count,
 * and the cut never splits a surrogate pair.
 */
export function truncateText(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text
  let kept = ''
  for (const char of text) {
    if (kept.length + char.length + ellipsis.length > maxLength) break
    kept += char
  }
  return `${kept}${ellipsis}`
}

/** Shortens text to at most `maxBytes` bytes of UTF-8, ending with `…` when cut. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text
  const budget = maxBytes - Buffer.byteLength(ellipsis, 'utf8')
  let kept = ''
  let bytes = 0
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8')
    if (bytes + size > budget) break
    kept += char
    bytes += size
  }
  return `${kept}${ellipsis}`
}

// Stops before a closing bracket or quote so a URL written in parentheses stays one link.
const urlPattern = /https?:\/\/[^\s<>()[\]"'`]+/g

/**
 * Backslash-escapes the characters chat Markdown (Mattermost, Discord) reads as formatting,
 * links, HTML or Slack-style `<!channel>` syntax. URLs are left alone so they still auto-link.
 */
export function escapeMarkdown(text: string): string {
  let result = ''
  let from = 0
  for (const match of text.matchAll(urlPattern)) {
    result += escapeMarkdownRun(text.slice(from, match.index)) + match[0]
    from = match.index + match[0].length
  }
  return result + escapeMarkdownRun(text.slice(from))
}

function escapeMarkdownRun(text: string): string {
  return text.replace(/[\\`*_~[\]()<>#|!&]/g, '\\$&')
}

/** One link a channel shows as a button: a one-click action or the link to Keel's UI. */
export interface MessageLink {
  kind: 'acknowledge' | 'resolve' | 'open'
  label: string
  url: string
}

/**
 * The message's one-click actions followed by "Open in Keel" when it has a URL. Only http(s)
 * links are kept: a platform may refuse a whole message over one button it cannot open.
 */
export function messageLinks(
  message: Pick<NotificationMessage, 'actions' | 'url'>,
  options: { open?: boolean } = {},
): MessageLink[] {
  const links: MessageLink[] = (message.actions ?? []).map(({ kind, label, url }) => ({
    kind,
    label,
    url,
  }))
  if (options.open !== false && message.url !== undefined) {
    links.push({ kind: 'open', label: 'Open in Keel', url: message.url })
  }
  return links.filter((link) => /^https?:\/\/[^\s]+$/i.test(link.url))
}

/**
 * A Markdown link `[label](url)`: the label is escaped, and the characters that would end the
 * link target early (spaces, brackets, quotes) are percent-encoded in the URL, which is
 * otherwise left as is so its query string survives.
 */
export function markdownLink(label: string, url: string): string {
  const target = url.replace(
    /[\s()<>[\]"'`]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  )
  return `[${escapeMarkdown(label)}](${target})`
}
