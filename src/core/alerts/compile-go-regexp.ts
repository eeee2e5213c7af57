/** A Go (RE2) pattern compiled for JavaScript, or why it could not be. */
export type CompileGoRegexpResult = { ok: true; regexp: RegExp } | { ok: false; reason: string }

// RE2's \s is ASCII-only and excludes \v; JavaScript's includes every Unicode space.
const goSpace = '\\t\\n\\f\\r '

const posixClasses: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7f',
  blank: '\\t ',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
}

// Go's Unicode class names that JavaScript also takes bare: general categories and Any.
const bareProperties = new Set(
  'Any C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(
    ' ',
  ),
)

function hexEscape(char: string): string {
  return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`
}

function unicodeEscape(codePoint: number): string {
  return `\\u{${codePoint.toString(16)}}`
}

function property(negated: boolean, name: string): string {
  const negate = name.startsWith('^') !== negated
  const bare = name.replace(/^\^/, '')
  // Go names scripts bare (\p{Greek}); JavaScript wants \p{Script=Greek}.
  const spelled = bareProperties.has(bare) ? bare : `Script=${bare}`
  return `\\${negate ? 'P' : 'p'}{${spelled}}`
}

interface Cursor {
  pattern: string
  at: number
}

/** Translates one escape sequence after a backslash at `cursor.at`, or returns an error reason. */
function translateEscape(cursor: Cursor, inClass: boolean): string | { reason: string } {
  const { pattern } = cursor
  const char = pattern[cursor.at + 1]
  if (char === undefined) return { reason: 'it ends with a lone backslash' }
  cursor.at += 2
  switch (char) {
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 'n':
    case 't':
    case 'r':
    case 'f':
    case 'v':
      return `\\${char}`
    case 'b':
    case 'B':
      if (inClass) return { reason: `\\${char} is not allowed inside [...]` }
      return `\\${char}`
    case 'a':
      return '\\x07'
    case 's':
      return inClass ? goSpace : `[${goSpace}]`
    case 'S':
      return inClass ? '\\S' : `[^${goSpace}]`
    case 'A':
      if (inClass) return { reason: '\\A is not allowed inside [...]' }
      return '(?<![\\s\\S])'
    case 'z':
      if (inClass) return { reason: '\\z is not allowed inside [...]' }
      return '(?![\\s\\S])'
    case 'x': {
      const braced = /^\{([0-9A-Fa-f]{1,8})\}/.exec(pattern.slice(cursor.at))
      if (braced) {
        cursor.at += braced[0].length
        const codePoint = Number.parseInt(braced[1] as string, 16)
        if (codePoint > 0x10ffff) return { reason: `\\x{${braced[1]}} is beyond Unicode` }
        return unicodeEscape(codePoint)
      }
      const two = /^[0-9A-Fa-f]{2}/.exec(pattern.slice(cursor.at))
      if (!two) return { reason: '\\x must be followed by two hex digits or {hex}' }
      cursor.at += 2
      return `\\x${two[0]}`
    }
    case 'p':
    case 'P': {
      const braced = /^\{(\^?[A-Za-z_]+)\}/.exec(pattern.slice(cursor.at))
      const single = /^[A-Za-z]/.exec(pattern.slice(cursor.at))
      const name = braced?.[1] ?? single?.[0]
      if (name === undefined) return { reason: `\\${char} must name a Unicode class` }
      cursor.at += (braced ?? single)?.[0].length ?? 0
      return property(char === 'P', name)
    }
    case 'Q': {
      const end = pattern.indexOf('\\E', cursor.at)
      const literal = pattern.slice(cursor.at, end === -1 ? undefined : end)
      cursor.at = end === -1 ? pattern.length : end + 2
      return [...literal]
        .map((c) => (/[0-9A-Za-z]/.test(c) || c.charCodeAt(0) > 0x7f ? c : hexEscape(c)))
        .join('')
    }
    default:
      break
  }
  if (/[0-7]/.test(char)) {
    const digits = /^[0-7]{0,2}/.exec(pattern.slice(cursor.at))?.[0] ?? ''
    // RE2 reads \0 and \12 as octal but refuses a lone \1 to \7 (a backreference it lacks).
    if (char !== '0' && digits === '')
      return { reason: `backreferences such as \\${char} are not supported` }
    cursor.at += digits.length
    return unicodeEscape(Number.parseInt(char + digits, 8))
  }
  // RE2 lets any ASCII punctuation be escaped; JavaScript's `u` mode allows only a few.
  if (char.charCodeAt(0) < 0x80 && !/[0-9A-Za-z]/.test(char)) return hexEscape(char)
  return { reason: `\\${char} is not an escape RE2 knows` }
}

/** Translates a character class starting at `cursor.at` (on its `[`). */
function translateClass(cursor: Cursor): string | { reason: string } {
  const { pattern } = cursor
  let out = '['
  cursor.at += 1
  if (pattern[cursor.at] === '^') {
    out += '^'
    cursor.at += 1
  }
  // RE2, like POSIX, reads a `]` right after `[` or `[^` as a literal; JavaScript as the end.
  if (pattern[cursor.at] === ']') {
    out += '\\]'
    cursor.at += 1
  }
  while (cursor.at < pattern.length) {
    const char = pattern[cursor.at] as string
    if (char === ']') {
      cursor.at += 1
      return `${out}]`
    }
    if (char === '\\') {
      const escaped = translateEscape(cursor, true)
      if (typeof escaped !== 'string') return escaped
      out += escaped
      continue
    }
    const posix = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(cursor.at))
    if (posix) {
      const ranges = posixClasses[posix[2] as string]
      if (ranges === undefined) return { reason: `[:${posix[2]}:] is not a POSIX class` }
      if (posix[1] === '^')
        return { reason: `negated POSIX classes such as ${posix[0]} are not supported` }
      out += ranges
      cursor.at += posix[0].length
      continue
    }
    out += char === '[' ? '\\[' : char
    cursor.at += 1
  }
  return { reason: 'a [ has no closing ]' }
}

/**
 * Compiles an Alertmanager regular expression, which is Go RE2 syntax, into a JavaScript
 * RegExp anchored as Alertmanager anchors it (`^(?:pattern)$`). RE2 spellings JavaScript lacks
 * are translated: a leading `(?i)`/`(?s)`/`(?m)` becomes a flag, `(?P<name>` a named group,
 * `\pL` and `\p{Greek}` Unicode properties, `[[:alpha:]]` POSIX classes, `\A`, `\z`, `\Q…\E`,
 * and `.` stops only at `\n` (RE2's rule) rather than at every JavaScript line terminator.
 */
export function compileGoRegexp(pattern: string): CompileGoRegexpResult {
  let flags = 'u'
  let body = pattern
  const leading = /^\(\?([imsU]+)\)/.exec(body)
  if (leading) {
    if (leading[1]?.includes('U')) {
      return { ok: false, reason: 'the ungreedy flag (?U) is not supported; use lazy quantifiers' }
    }
    flags += [...new Set(leading[1])].join('')
    body = body.slice(leading[0].length)
  }
  const dotAll = flags.includes('s')
  const cursor: Cursor = { pattern: body, at: 0 }
  let out = ''
  while (cursor.at < body.length) {
    const char = body[cursor.at] as string
    const rest = body.slice(cursor.at)
    if (char === '\\') {
      const escaped = translateEscape(cursor, false)
      if (typeof escaped !== 'string') return { ok: false, reason: escaped.reason }
      out += escaped
    } else if (char === '[') {
      const translated = translateClass(cursor)
      if (typeof translated !== 'string') return { ok: false, reason: translated.reason }
      out += translated
    } else if (char === '.') {
      out += dotAll ? '.' : '[^\\n]'
      cursor.at += 1
    } else if (rest.startsWith('(?P<')) {
      out += '(?<'
      cursor.at += 4
    } else if (/^\(\?(=|!|<=|<!)/.test(rest)) {
      return { ok: false, reason: 'lookaround assertions such as (?= are not supported by RE2' }
    } else if (/^\(\?[imsU-]*[:)]/.test(rest) && !rest.startsWith('(?:')) {
      return {
        ok: false,
        reason: 'flags such as (?i) are supported only at the very start of the pattern',
      }
    } else if (char === '{') {
      // RE2 reads a `{` that starts no repetition as a literal; JavaScript's `u` mode refuses it.
      const repeat = /^\{\d+(,\d*)?\}/.exec(rest)
      out += repeat ? repeat[0] : '\\{'
      cursor.at += repeat ? repeat[0].length : 1
    } else if (char === '}') {
      out += '\\}'
      cursor.at += 1
    } else {
      out += char
      cursor.at += 1
    }
  }
  try {
    return { ok: true, regexp: new RegExp(`^(?:${out})$`, flags) }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return { ok: false, reason: message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '') }
  }
}
