import { isPair, isScalar, isSeq, parseDocument, visit, type Document } from 'yaml'
import { formatPath, type PathSegment } from '../core/config/index.js'

/** The environment variables `${VAR}` references are read from. */
export type Env = Readonly<Record<string, string | undefined>>

/** The result of expanding one string: the new text and what could not be expanded. */
export interface ExpandedString {
  value: string
  problems: string[]
}

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Expands `${VAR}` and `${VAR:-default}` (the default applies when VAR is unset or empty, as in
 * a shell) and turns `$$` into a literal `$`; any other `$` is kept. Unknown variables without a
 * default are problems, never silently empty, since an empty URL or password fails far later.
 */
export function expandString(text: string, env: Env): ExpandedString {
  const problems: string[] = []
  let value = ''
  let i = 0
  while (i < text.length) {
    const char = text[i] as string
    if (char !== '$') {
      value += char
      i++
      continue
    }
    const next = text[i + 1]
    if (next === '$') {
      value += '$'
      i += 2
      continue
    }
    if (next !== '{') {
      value += '$'
      i++
      continue
    }
    const end = text.indexOf('}', i + 2)
    if (end === -1) {
      problems.push('`${` is not closed by `}`; write `$${` for a literal `${`')
      value += text.slice(i)
      break
    }
    const body = text.slice(i + 2, end)
    const split = body.indexOf(':-')
    const name = split === -1 ? body : body.slice(0, split)
    const fallback = split === -1 ? undefined : body.slice(split + 2)
    if (!namePattern.test(name)) {
      problems.push(
        `\`\${${body}}\` is not a variable reference: names are letters, digits and _, and \`$$\` writes a literal \`$\``,
      )
      value += text.slice(i, end + 1)
    } else {
      const set = env[name]
      if (set !== undefined && (set !== '' || fallback === undefined)) value += set
      else if (fallback !== undefined) value += fallback
      else {
        problems.push(
          `environment variable \`${name}\` is not set; set it, or give a default as \`\${${name}:-value}\``,
        )
        value += text.slice(i, end + 1)
      }
    }
    i = end + 1
  }
  return { value, problems }
}

/** A problem found while expanding one YAML document, at a path and text offset. */
export interface EnvIssue {
  segments: PathSegment[]
  offset: number | undefined
  message: string
}

/** What expanding a document found: problems, and plain values whose type changed. */
export interface DocumentExpansion {
  issues: EnvIssue[]
  /** Formatted path → the reference that produced a number or boolean (`${PORT}`). */
  retyped: Map<string, string>
}

function segmentsOf(ancestors: readonly unknown[], node: unknown): PathSegment[] {
  const chain = [...ancestors, node]
  const segments: PathSegment[] = []
  chain.forEach((item, index) => {
    if (isPair(item)) {
      segments.push(isScalar(item.key) ? String(item.key.value) : String(item.key))
    } else if (isSeq(item)) {
      segments.push(item.items.indexOf(chain[index + 1] as never))
    }
  })
  return segments
}

const wholeReference = /^\$\{[^}]*\}$/

function resolvePlain(text: string): number | boolean | undefined {
  const doc = parseDocument(text)
  if (doc.errors.length > 0 || !isScalar(doc.contents)) return undefined
  const value: unknown = doc.contents.value
  return typeof value === 'number' || typeof value === 'boolean' ? value : undefined
}

/**
 * Expands environment references in the string values (never the keys) of a parsed YAML
 * document, in place. A plain (unquoted) value that is one whole reference takes the YAML type of
 * what it expands to, so `port: ${PORT}` is a number as if the number had been written there;
 * quote it (`"${PIN}"`) to keep a string.
 */
export function expandEnvInDocument(doc: Document, env: Env): DocumentExpansion {
  const issues: EnvIssue[] = []
  const retyped = new Map<string, string>()
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return
      const original = node.value
      const { value, problems } = expandString(original, env)
      const segments = segmentsOf(ancestors, node)
      for (const message of problems) {
        issues.push({ segments, offset: node.range?.[0], message })
      }
      if (problems.length > 0) return
      const typed =
        node.type === 'PLAIN' && wholeReference.test(original) ? resolvePlain(value) : undefined
      if (typed !== undefined) retyped.set(formatPath(segments), original)
      node.value = typed ?? value
    },
  })
  return { issues, retyped }
}
