/** A database or Redis value as the text `[BODY]` conditions compare: dates ISO, bytes UTF-8. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'string') return value
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()
  if (Buffer.isBuffer(value) || value instanceof Uint8Array)
    return Buffer.from(value).toString('utf8')
  if (Array.isArray(value)) return value.map(valueText).join('\n')
  if (value instanceof Map) return JSON.stringify(Object.fromEntries(value), jsonReplacer)
  if (typeof value === 'object') return JSON.stringify(value, jsonReplacer)
  return String(value)
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}

/** A value cut to a length that fits in a one-line message, quoted. */
export function quotePreview(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max - 3)}...` : flat)
}
