import { describe, expect, it } from 'vitest'
import { formatDuration, parseDuration } from './time.js'

describe('parseDuration', () => {
  it.each([
    { name: 'a bare zero is zero', text: '0', ms: 0 },
    { name: 'zero with a unit is zero', text: '0s', ms: 0 },
    { name: 'milliseconds are taken as they are', text: '250ms', ms: 250 },
    { name: 'seconds are multiplied by a thousand', text: '20s', ms: 20_000 },
    { name: 'minutes are sixty seconds', text: '5m', ms: 300_000 },
    { name: 'hours and minutes add up', text: '1h30m', ms: 5_400_000 },
    { name: 'a fractional hour is allowed', text: '1.5h', ms: 5_400_000 },
    { name: 'a fraction of a millisecond is rounded', text: '1.6ms', ms: 2 },
    { name: 'days are 24 hours', text: '2d', ms: 172_800_000 },
    { name: 'weeks are seven days', text: '1w', ms: 604_800_000 },
    { name: 'every unit can be combined', text: '1w1d1h1m1s1ms', ms: 694_861_001 },
    { name: 'minutes followed by seconds are not read as milliseconds', text: '1m5s', ms: 65_000 },
    { name: 'surrounding whitespace is ignored', text: '  30s\n', ms: 30_000 },
  ])('$name ($text)', ({ text, ms }) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each([
    { name: 'an empty string is not a duration', text: '' },
    { name: 'only whitespace is not a duration', text: '   ' },
    { name: 'a number without a unit is not a duration', text: '30' },
    { name: 'words are not a duration', text: 'soon' },
    { name: 'a unit without a number is not a duration', text: 'ms' },
    { name: 'an unknown unit is not a duration', text: '5y' },
    { name: 'an upper-case unit is not a duration', text: '5M' },
    { name: 'a negative duration is refused', text: '-5s' },
    { name: 'a space between parts is refused', text: '1h 30m' },
    { name: 'trailing garbage is refused', text: '5sx' },
    { name: 'a fraction without digits after the point is refused', text: '1.h' },
    { name: 'a number too large to be finite is refused', text: `${'9'.repeat(400)}s` },
  ])('$name ($text)', ({ text }) => {
    expect(parseDuration(text)).toBeUndefined()
  })
})

describe('formatDuration', () => {
  it.each([
    { name: 'zero is zero milliseconds', ms: 0, text: '0ms' },
    { name: 'under a second stays in milliseconds', ms: 250, text: '250ms' },
    { name: 'a fraction of a millisecond is rounded', ms: 249.6, text: '250ms' },
    { name: 'just under a second that rounds up is one second', ms: 999.6, text: '1s' },
    { name: 'whole seconds', ms: 20_000, text: '20s' },
    { name: 'hours and minutes with no seconds', ms: 5_400_000, text: '1h30m' },
    { name: 'a whole day', ms: 86_400_000, text: '1d' },
    { name: 'a day and a second skip the empty units', ms: 86_401_000, text: '1d1s' },
    { name: 'every unit up to days', ms: 90_061_000, text: '1d1h1m1s' },
    { name: 'seconds keep their milliseconds', ms: 1_500, text: '1s500ms' },
    { name: 'a day and a little is not shown as a day', ms: 86_400_400, text: '1d400ms' },
  ])('$name ($ms → $text)', ({ ms, text }) => {
    expect(formatDuration(ms)).toBe(text)
  })

  it.each([0, 1, 250, 1_000, 1_500, 59_999, 65_000, 5_400_000, 86_400_400, 694_861_001])(
    'formatting %i ms and parsing the text gives the same number back',
    (ms) => {
      expect(parseDuration(formatDuration(ms))).toBe(ms)
    },
  )
})
