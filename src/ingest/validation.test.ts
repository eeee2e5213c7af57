import { describe, expect, it } from 'vitest'
import { fieldPath, parseTimestamp } from './validation.js'

describe('parseTimestamp', () => {
  it.each([
    { text: '2024-05-01T12:00:00Z', ms: Date.UTC(2024, 4, 1, 12) },
    { text: '2024-05-01T12:00:00.5Z', ms: Date.UTC(2024, 4, 1, 12, 0, 0, 500) },
    { text: '2026-11-23T01:37:22.751197015Z', ms: Date.UTC(2026, 10, 23, 1, 37, 22, 751) },
    { text: '2024-05-01T14:00:00+02:00', ms: Date.UTC(2024, 4, 1, 12) },
    { text: '2015-07-17T08:42:58.315+0000', ms: Date.UTC(2015, 6, 17, 8, 42, 58, 315) },
    { text: '2024-05-01 12:00:00Z', ms: Date.UTC(2024, 4, 1, 12) },
    { text: '2024-05-01T12:00:00', ms: Date.UTC(2024, 4, 1, 12) },
    { text: '2024-05-01T12:00Z', ms: Date.UTC(2024, 4, 1, 12) },
    { text: '0001-01-01T00:00:00Z', ms: null },
    { text: 'yesterday', ms: undefined },
    { text: '2024-05-01', ms: undefined },
    { text: '1714564800', ms: undefined },
    { text: '2024-13-01T00:00:00Z', ms: undefined },
    { text: '2024-05-01T12:00:00Zjunk', ms: undefined },
  ])('reads $text as $ms', ({ text, ms }) => {
    expect(parseTimestamp(text)).toBe(ms)
  })
})

describe('fieldPath', () => {
  it.each([
    { path: [], text: 'body' },
    { path: ['alerts', 0, 'labels', 'alertname'], text: 'alerts[0].labels.alertname' },
    { path: [2, 'endsAt'], text: '[2].endsAt' },
    { path: ['labels', 'service.name'], text: 'labels["service.name"]' },
    { path: ['labels', ''], text: 'labels[""]' },
  ])('writes $path as $text', ({ path, text }) => {
    expect(fieldPath(path)).toBe(text)
  })
})
