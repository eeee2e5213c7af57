import { describe, expect, it } from 'vitest'
import { safeLinkUrl } from './safe-url.js'

describe('safeLinkUrl', () => {
  it.each([
    ['an https URL', 'https://wiki.example.org/db-main?x=1#y'],
    ['an http URL in upper case', 'HTTP://wiki.example.org/'],
    ['a mailto URL', 'mailto:dba@example.org'],
    ['a path on this server', '/status/feed.rss'],
  ])('keeps %s', (_name, url) => {
    expect(safeLinkUrl(url)).toBe(url)
  })

  it.each([
    ['javascript:', 'javascript:alert(1)'],
    ['javascript: in mixed case with spaces around', '  JaVaScRiPt:alert(1)'],
    ['javascript: split by a tab, which browsers drop', 'java\tscript:alert(1)'],
    ['javascript: split by a newline', 'java\nscript:alert(1)'],
    ['javascript: after a control character', '\u0001javascript:alert(1)'],
    ['data:', 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='],
    ['vbscript:', 'vbscript:msgbox(1)'],
    ['file:', 'file:///etc/passwd'],
    ['an app scheme', 'slack://open'],
    ['a protocol-relative URL', '//evil.example/x'],
    ['a backslash path browsers read as another host', '/\\evil.example'],
    ['an http URL without a host', 'https:evil.example'],
    ['a relative path', 'wiki/page'],
    ['an empty string', ''],
  ])('refuses %s', (_name, url) => {
    expect(safeLinkUrl(url)).toBeUndefined()
  })
})
