import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react'

const changeEvent = 'keel:navigate'

/** Goes to a path inside the app without reloading the page. */
export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (path === location.pathname + location.search) return
  if (options.replace) history.replaceState(null, '', path)
  else history.pushState(null, '', path)
  window.dispatchEvent(new Event(changeEvent))
  window.scrollTo(0, 0)
}

/** The current path and query, updated on navigation and the back button. */
export function useLocation(): { pathname: string; search: URLSearchParams } {
  const [href, setHref] = useState(() => location.pathname + location.search)
  useEffect(() => {
    const update = () => setHref(location.pathname + location.search)
    window.addEventListener('popstate', update)
    window.addEventListener(changeEvent, update)
    return () => {
      window.removeEventListener('popstate', update)
      window.removeEventListener(changeEvent, update)
    }
  }, [])
  const url = new URL(href, location.origin)
  return { pathname: url.pathname, search: url.searchParams }
}

/** An anchor that navigates inside the app; modified clicks still open new tabs. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { onClick, ...rest } = props
  const click = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event)
    if (event.defaultPrevented || event.button !== 0) return
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    navigate(props.href)
  }
  return <a {...rest} onClick={click} />
}
