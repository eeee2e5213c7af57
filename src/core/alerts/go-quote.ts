function printable(codePoint: number): boolean {
  return codePoint === 0x20 || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(String.fromCodePoint(codePoint))
}

const shortEscapes: Record<number, string> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
  0x22: '\\"',
  0x5c: '\\\\',
}

/**
 * Go's `strconv.Quote`: Alertmanager prints label sets and names that need quoting with it.
 * Printable characters stay as they are; others become `\x`, `\u` or `\U` escapes.
 */
export function goQuote(text: string): string {
  let out = '"'
  for (const char of text) {
    const codePoint = char.codePointAt(0) as number
    const short = shortEscapes[codePoint]
    if (short !== undefined) out += short
    else if (codePoint >= 0xd800 && codePoint <= 0xdfff) out += '\\ufffd'
    else if (printable(codePoint)) out += char
    else if (codePoint < 0x20 || codePoint === 0x7f) {
      out += `\\x${codePoint.toString(16).padStart(2, '0')}`
    } else if (codePoint < 0x10000) out += `\\u${codePoint.toString(16).padStart(4, '0')}`
    else out += `\\U${codePoint.toString(16).padStart(8, '0')}`
  }
  return `${out}"`
}

const decoder = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()
const simpleEscapes: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 92,
  '"': 34,
}

/**
 * Go's `strconv.Unquote` for a double-quoted string (quotes included), plus the UTF-8 check
 * Alertmanager's matcher parser adds, so `"\xf0\x9f\x99\x82"` reads as one emoji.
 */
export function goUnquote(
  quoted: string,
): { ok: true; value: string } | { ok: false; reason: string } {
  const inner = quoted.slice(1, -1)
  if (inner.includes('\n'))
    return { ok: false, reason: 'it holds a raw line break; write \\n instead' }
  const bytes: number[] = []
  const text = [...inner]
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string
    if (char !== '\\') {
      bytes.push(...encoder.encode(char))
      continue
    }
    const escape = text[i + 1] ?? ''
    const simple = simpleEscapes[escape]
    if (simple !== undefined) {
      bytes.push(simple)
      i += 1
      continue
    }
    const digits = { x: 2, u: 4, U: 8 }[escape]
    const hex = text.slice(i + 2, i + 2 + (digits ?? 0)).join('')
    if (digits !== undefined && new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(hex)) {
      const code = Number.parseInt(hex, 16)
      if (escape === 'x') bytes.push(code)
      else if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        return { ok: false, reason: `\\${escape}${hex} is not a Unicode character` }
      } else bytes.push(...encoder.encode(String.fromCodePoint(code)))
      i += 1 + digits
      continue
    }
    const octal = text.slice(i + 1, i + 4).join('')
    if (/^[0-7]{3}$/.test(octal) && Number.parseInt(octal, 8) <= 255) {
      bytes.push(Number.parseInt(octal, 8))
      i += 3
      continue
    }
    return {
      ok: false,
      reason: `\\${escape} is not an escape; write \\\\ for a backslash (a regex \\d is "\\\\d")`,
    }
  }
  try {
    return { ok: true, value: decoder.decode(Uint8Array.from(bytes)) }
  } catch {
    return { ok: false, reason: 'its escaped bytes are not valid UTF-8; escape whole characters' }
  }
}
