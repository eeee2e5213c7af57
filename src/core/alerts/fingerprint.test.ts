import { describe, expect, it } from 'vitest'
import { fingerprint, type Labels } from './fingerprint.js'

describe('fingerprint', () => {
  // Reference values read from the `fingerprint` field of Alertmanager 0.25.0's /api/v2/alerts
  // after posting these label sets (test/alertmanager-fingerprint.test.ts does it live). The
  // empty set cannot be posted; its value is Prometheus' emptyLabelSignature, the FNV-1a offset.
  it.each<{ name: string; labels: Labels; expected: string }>([
    {
      name: 'the empty label set is the FNV-1a offset basis',
      labels: {},
      expected: 'cbf29ce484222325',
    },
    { name: 'one label', labels: { alertname: 'x' }, expected: 'd240efc3896bf266' },
    { name: 'a short name with a long value', labels: { a: 'bc' }, expected: 'a0a3542c19b900ab' },
    { name: 'a long name with a short value', labels: { ab: 'c' }, expected: '20ba9b3025a8b421' },
    {
      name: 'two labels',
      labels: { service: 'db', severity: 'critical' },
      expected: '8cabfcf761b1538a',
    },
    {
      name: 'unicode values, hashed as UTF-8',
      labels: { city: 'Zürich', emoji: '🚨' },
      expected: '7098a4eeabefa268',
    },
  ])('$name gives what Alertmanager gives', ({ labels, expected }) => {
    expect(fingerprint(labels)).toBe(expected)
  })

  // Label names sort by their bytes, as Go's sort.Strings does: upper case before `_` before
  // lower case, and a shorter name before a longer one it begins. A sort that ignores case or
  // follows the locale gives other values here. Obtained on 2026-12-08 from Alertmanager 0.25.0
  // (Debian's prometheus-alertmanager): POST each set to /api/v2/alerts of a running instance
  // and read the `fingerprint` field of GET /api/v2/alerts (what
  // test/alertmanager-fingerprint.test.ts does live when the binary is installed).
  it.each<{ name: string; labels: Labels; expected: string }>([
    {
      name: 'upper case, underscore, lower case and a longer name',
      labels: { a: '1', B: '2', _c: '3', Z: '4', aa: '5' },
      expected: 'dcf50389ef746163',
    },
    {
      name: 'two names differing only in case',
      labels: { alertname: 'KeelOrderA', a: 'x', A: 'y' },
      expected: '0ac97d27b638ac11',
    },
    {
      name: 'a lone underscore between upper and lower case',
      labels: { alertname: 'KeelOrderB', _: 'u', Z: 'z', a: 'l' },
      expected: '202cd743abbe7ac8',
    },
    {
      name: 'a prefix, an upper-case letter, an underscore and a lower-case letter after it',
      labels: { alertname: 'KeelOrderC', a_b: '1', aB: '2', a: '3', ab: '4' },
      expected: '1e746e1533062a81',
    },
    {
      name: 'one word in four spellings',
      labels: {
        alertname: 'KeelOrderD',
        Service: 'db',
        service: 'web',
        SERVICE: 'ops',
        _service: 'x',
      },
      expected: '4807dad06cc1cfa8',
    },
    {
      name: 'a digit, an upper-case letter, an underscore and a lower-case letter in second place',
      labels: { alertname: 'KeelOrderE', x9: 'n', x_: 'u', xZ: 'up', xa: 'low' },
      expected: '079210091a05443f',
    },
  ])('sorts names by bytes: $name gives what Alertmanager gives', ({ labels, expected }) => {
    expect(fingerprint(labels)).toBe(expected)
  })

  it.each<{ name: string; a: Labels; b: Labels }>([
    {
      name: 'the order labels were written in does not matter',
      a: { service: 'db', severity: 'critical', team: 'dba' },
      b: { team: 'dba', severity: 'critical', service: 'db' },
    },
    {
      name: 'mixed-case and underscore names in another order give the same result',
      a: { b: '1', B: '2', _c: '3', a1: '4' },
      b: { a1: '4', _c: '3', B: '2', b: '1' },
    },
  ])('$name', ({ a, b }) => {
    expect(fingerprint(a)).toBe(fingerprint(b))
  })

  it.each<{ name: string; a: Labels; b: Labels }>([
    {
      name: 'moving a character from the name to the value changes it',
      a: { a: 'bc' },
      b: { ab: 'c' },
    },
    {
      name: 'moving a character between two labels changes it',
      a: { a: 'x', b: 'yz' },
      b: { a: 'xy', b: 'z' },
    },
    {
      name: 'swapping values between names changes it',
      a: { a: '1', b: '2' },
      b: { a: '2', b: '1' },
    },
    { name: 'a name and a value are not interchangeable', a: { a: 'b' }, b: { b: 'a' } },
    { name: 'values differing only in case differ', a: { a: 'Down' }, b: { a: 'down' } },
    { name: 'an extra label changes it', a: { a: '1' }, b: { a: '1', b: '2' } },
    {
      name: 'composed and decomposed unicode are different bytes',
      a: { city: 'Z\u00fcrich' },
      b: { city: 'Zu\u0308rich' },
    },
  ])('$name', ({ a, b }) => {
    expect(fingerprint(a)).not.toBe(fingerprint(b))
  })

  it('ignores labels with an empty value, as Prometheus and Alertmanager do', () => {
    expect(fingerprint({ alertname: 'x', empty: '' })).toBe(fingerprint({ alertname: 'x' }))
    expect(fingerprint({ a: '' })).toBe(fingerprint({}))
  })

  it.each<{ name: string; labels: Labels }>([
    { name: 'the empty set', labels: {} },
    { name: 'one label', labels: { x: 'y' } },
    { name: 'many labels', labels: Object.fromEntries([...'abcdefghij'].map((c) => [c, c])) },
  ])('is sixteen lower-case hex digits for $name', ({ labels }) => {
    expect(fingerprint(labels)).toMatch(/^[0-9a-f]{16}$/)
  })

  it('does not change the labels it is given', () => {
    const labels = { b: '2', a: '1' }
    fingerprint(labels)
    expect(Object.keys(labels)).toEqual(['b', 'a'])
  })
})
