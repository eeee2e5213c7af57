import type { ReactNode } from 'react'
import { safeLinkUrl } from '../../src/core/safe-url.js'

/**
 * A link to somewhere outside Keel (catalog links, IdP login), or plain text when the URL's scheme
 * is not one `safeLinkUrl` allows: a `javascript:` URL stored before validation never becomes a link.
 */
export function SafeLink(props: { url: string; children: ReactNode; className?: string }) {
  const url = safeLinkUrl(props.url)
  if (url === undefined) {
    return (
      <span className="unsafe-link" title={`Not a link: ${props.url}`} data-unsafe-url="">
        {props.children}
      </span>
    )
  }
  return (
    <a href={url} className={props.className} rel="noreferrer noopener" target="_blank">
      {props.children}
    </a>
  )
}

/** The URL for an `href` within Keel's own pages, or undefined when `safeLinkUrl` refuses it. */
export { safeLinkUrl }
