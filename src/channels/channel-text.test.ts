import { describe, expect, it } from 'vitest'
import {
  escapeMarkdown,
  markdownLink,
  messageLinks,
  truncateText,
  truncateUtf8,
} from './channel-text.js'

describe('truncateText', () => {
  it.each([
    ['keeps text that fits', 'abc', 3, 'abc'],
    ['ends a cut with an ellipsis inside the limit', 'abcdef', 4, 'abc…'],
    ['never splits a surrogate pair', 'a😀😀', 4, 'a😀…'],
    ['gives just the ellipsis when nothing else fits', '😀😀', 2, '…'],
  ])('%s', (_name, text, max, expected) => {
    const result = truncateText(text, max)
    expect(result).toBe(expected)
    expect(result.length).toBeLessThanOrEqual(max)
  })
})

describe('truncateUtf8', () => {
  it.each([
    ['keeps text that fits', 'über', 5, 'über'],
    ['cuts on a character boundary', 'üüüü', 7, 'üü…'],
    ['counts four-byte characters whole', '😀😀', 6, '…'],
  ])('%s', (_name, text, max, expected) => {
    const result = truncateUtf8(text, max)
    expect(result).toBe(expected)
    expect(Buffer.byteLength(result, 'utf8')).toBeLessThanOrEqual(max)
  })
})

describe('escapeMarkdown', () => {
  it.each([
    ['plain words stay as they are', 'disk 93% full on db-1.', 'disk 93% full on db-1.'],
    ['emphasis and strike-through', '*a* _b_ ~c~', '\\*a\\* \\_b\\_ \\~c\\~'],
    ['Slack-style announcements', '<!channel>', '\\<\\!channel\\>'],
    ['a URL inside parentheses', '(https://x.example/a_b)', '\\(https://x.example/a_b\\)'],
    [
      'two URLs',
      'http://a.example/_ and http://b.example/*',
      'http://a.example/_ and http://b.example/*',
    ],
  ])('%s', (_name, text, expected) => {
    expect(escapeMarkdown(text)).toBe(expected)
  })
})

describe('messageLinks', () => {
  const actions = [
    { kind: 'acknowledge' as const, label: 'Acknowledge', url: 'https://k.example/a/1?x=1&y=2' },
    { kind: 'resolve' as const, label: 'Resolve', url: 'javascript:alert(1)' },
  ]

  it('lists the http(s) actions, then the Keel link unless told not to', () => {
    expect(messageLinks({ actions, url: 'https://k.example/incidents/1' })).toEqual([
      actions[0],
      { kind: 'open', label: 'Open in Keel', url: 'https://k.example/incidents/1' },
    ])
    expect(messageLinks({ actions, url: 'https://k.example/i/1' }, { open: false })).toEqual([
      actions[0],
    ])
  })
})

describe('markdownLink', () => {
  it.each([
    [
      'keeps a query string as is',
      'Ack',
      'https://k.example/a?x=1&y=2',
      '[Ack](https://k.example/a?x=1&y=2)',
    ],
    [
      'encodes parentheses and spaces',
      'Ack',
      'https://k.example/a(b) c',
      '[Ack](https://k.example/a%28b%29%20c)',
    ],
    [
      'escapes Markdown in the label',
      '*Ack* [x]',
      'https://k.example/',
      '[\\*Ack\\* \\[x\\]](https://k.example/)',
    ],
  ])('%s', (_name, label, url, expected) => {
    expect(markdownLink(label, url)).toBe(expected)
  })
})
