import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
} from 'yaml'
import { formatPath, type PathSegment } from '../core/config/index.js'
import { reservedKeyMessage, reservedKeys } from '../core/reserved-keys.js'
import { expandEnvInDocument, type Env } from './expand-env.js'
import { describeZodIssues, formatIssues, type ConfigIssue, type PathIssue } from './issues.js'
import { withCatalog, type CatalogState } from './catalog.js'
import { isSecretConfigPath } from './redact.js'
import { keelConfigSchema, type KeelConfig } from './schema.js'

export { formatIssues, type ConfigIssue }
export type { Env }

/** The sections whose entries are tracked back to the file that defined them. */
export type SourcedSection = 'monitors' | 'channels'

/** A config as written (files merged, variables expanded), before defaults and transforms. */
export interface RawConfig {
  [section: string]: unknown
  monitors: Record<string, Record<string, unknown>>
  channels: Record<string, Record<string, unknown>>
}

/** A config that loaded, or every issue that stopped it from loading. */
export type LoadResult =
  | {
      ok: true
      config: KeelConfig
      /** The same config as written, so specs can be stored and shown the way the operator wrote them. */
      raw: RawConfig
      /** The files read, in merge order. */
      files: string[]
      /** For each monitor and channel id, the last file that defined or changed it. */
      sources: Record<SourcedSection, Record<string, string>>
      /** The catalog with its Backstage imports read; only `loadConfig` reads them. */
      catalog?: CatalogState
    }
  | { ok: false; issues: ConfigIssue[] }

/** Options of {@link parseConfigText}. */
export interface ParseConfigTextOptions {
  /** The name issues and `sources` report; also the base of relative paths unless `baseDir` is set. */
  file?: string
  env: Env
  /** Directory relative paths (`store.path`) are resolved against. */
  baseDir?: string
}

interface SourceText {
  file: string
  text: string
}

interface ParsedFile {
  file: string
  doc: Document
  lines: LineCounter
  value: Record<string, unknown>
}

type UnknownRecord = Record<string, unknown>

function isRecord(value: unknown): value is UnknownRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Later maps are merged into earlier ones key by key; anything else replaces what was there. */
function deepMerge(base: unknown, override: unknown): unknown {
  if (!isRecord(base) || !isRecord(override)) return override
  const merged: UnknownRecord = { ...base }
  for (const [key, value] of Object.entries(override)) {
    const next = Object.hasOwn(merged, key) ? deepMerge(merged[key], value) : value
    // defineProperty, not assignment: a `__proto__` key must stay data, not become a prototype.
    Object.defineProperty(merged, key, {
      value: next,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return merged
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key)
}

// `a: &x [*x]` is valid YAML and becomes an array that contains itself.
function containsItself(value: unknown, open = new Set<object>()): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (open.has(value)) return true
  open.add(value)
  const children = Array.isArray(value) ? value : Object.values(value)
  const cyclic = children.some((child) => containsItself(child, open))
  open.delete(value)
  return cyclic
}

/** Every map key in the document that is one of `reservedKeys`, with its path and offset. */
function reservedKeysIn(
  node: unknown,
  segments: PathSegment[] = [],
): { segments: PathSegment[]; offset?: number }[] {
  if (isMap(node)) {
    return node.items.flatMap((pair) => {
      const key = keyText(pair.key)
      const at = [...segments, key]
      if (reservedKeys.has(key)) {
        return [{ segments: at, offset: (pair.key as Node | null)?.range?.[0] }]
      }
      return reservedKeysIn(pair.value, at)
    })
  }
  if (isSeq(node))
    return node.items.flatMap((item, index) => reservedKeysIn(item, [...segments, index]))
  return []
}

/** How far a path reaches into one document, and the offset of the deepest node it reached. */
function reach(
  doc: Document,
  segments: readonly PathSegment[],
): { depth: number; offset?: number } {
  let node: unknown = doc.contents
  let offset: number | undefined
  let depth = 0
  for (const segment of segments) {
    if (isAlias(node)) node = node.resolve(doc)
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(segment))
      if (pair === undefined) break
      offset = (pair.key as Node | null)?.range?.[0]
      node = pair.value
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined
      if (item === undefined) break
      offset = item.range?.[0]
      node = item
    } else break
    depth++
  }
  // A wrong scalar is pointed at itself; a wrong map or list at its key.
  if (depth === segments.length && isScalar(node) && node.range) offset = node.range[0]
  return { depth, offset }
}

function position(parsed: ParsedFile, offset: number | undefined): Partial<ConfigIssue> {
  if (offset === undefined) return { file: parsed.file }
  const { line, col } = parsed.lines.linePos(offset)
  return { file: parsed.file, line, column: col }
}

/** Finds the file and place a path comes from: the file reaching deepest, the later on a tie. */
function locate(files: readonly ParsedFile[], issue: PathIssue): ConfigIssue {
  let best: { parsed: ParsedFile; depth: number; offset?: number } | undefined
  for (const parsed of files) {
    const found = reach(parsed.doc, issue.segments)
    if (best === undefined || found.depth >= best.depth) best = { parsed, ...found }
  }
  const where =
    best === undefined || (best.depth === 0 && files.length > 1)
      ? {}
      : position(best.parsed, best.depth === 0 ? undefined : best.offset)
  return { ...where, path: formatPath(issue.segments), message: issue.message }
}

function covers(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`)
}

function yamlMessage(message: string): string {
  // `yaml` appends " at line L, column C:" and a snippet; the issue carries line and column itself.
  const cut = message.search(/ at line \d+, column \d+/)
  return cut === -1 ? message : message.slice(0, cut)
}

function describeTopLevel(value: unknown): string {
  return Array.isArray(value) ? 'a list' : typeof value === 'string' ? 'a string' : typeof value
}

/** Orders issues as they appear in the files, so the CLI reads top to bottom; stable otherwise. */
function sortIssues(issues: ConfigIssue[], texts: readonly SourceText[]): ConfigIssue[] {
  const order = new Map(texts.map((text, index) => [text.file, index]))
  const key = (issue: ConfigIssue) => [
    issue.file === undefined ? Infinity : (order.get(issue.file) ?? Infinity),
    issue.line ?? Infinity,
    issue.column ?? Infinity,
  ]
  return issues
    .map((issue, index) => ({ issue, index, key: key(issue) }))
    .sort((a, b) => {
      for (let i = 0; i < a.key.length; i++) {
        const difference = (a.key[i] as number) - (b.key[i] as number)
        if (difference !== 0 && !Number.isNaN(difference)) return difference
      }
      return a.index - b.index
    })
    .map(({ issue }) => issue)
}

/** Parses, expands and merges the texts, then validates the result, collecting every issue. */
function parseSources(texts: readonly SourceText[], env: Env, baseDir?: string): LoadResult {
  const issues: ConfigIssue[] = []
  const parsed: ParsedFile[] = []
  const retyped = new Map<string, string>()
  const envPaths: string[] = []

  for (const { file, text } of texts) {
    const lines = new LineCounter()
    const doc = parseDocument(text, { lineCounter: lines, merge: true, uniqueKeys: true })
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        const at = error.linePos?.[0]
        issues.push({
          file,
          line: at?.line,
          column: at?.col,
          path: '',
          message: yamlMessage(error.message),
        })
      }
      continue
    }
    const reserved = reservedKeysIn(doc.contents)
    if (reserved.length > 0) {
      for (const found of reserved) {
        const key = String(found.segments.at(-1))
        issues.push({
          ...position({ file, doc, lines, value: {} }, found.offset),
          path: formatPath(found.segments),
          message: reservedKeyMessage(key),
        })
      }
      continue
    }
    const expansion = expandEnvInDocument(doc, env)
    for (const [key, reference] of expansion.retyped) retyped.set(key, reference)
    const entry: ParsedFile = { file, doc, lines, value: {} }
    for (const issue of expansion.issues) {
      envPaths.push(formatPath(issue.segments))
      issues.push({
        ...position(entry, issue.offset),
        path: formatPath(issue.segments),
        message: issue.message,
      })
    }
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: 1000 })
    } catch (error) {
      issues.push({
        file,
        path: '',
        message: error instanceof Error ? error.message : String(error),
      })
      continue
    }
    if (containsItself(value)) {
      issues.push({
        file,
        path: '',
        message:
          'an alias (*name) is used inside the node its anchor (&name) marks, making an endless loop; copy the values instead',
      })
      continue
    }
    if (value === null || value === undefined) value = {}
    if (!isRecord(value)) {
      issues.push({
        file,
        line: 1,
        column: 1,
        path: '',
        message: `the top level must be a map of sections (server, store, channels, monitors, …), got ${describeTopLevel(value)}`,
      })
      continue
    }
    // An emptied section (`monitors:` with every entry commented out) means "none", not null.
    for (const [key, section] of Object.entries(value)) if (section === null) delete value[key]
    entry.value = value
    parsed.push(entry)
  }
  // Validating a partly parsed file would report follow-on errors of the syntax error.
  if (parsed.length < texts.length) return { ok: false, issues: sortIssues(issues, texts) }

  const merged = parsed.reduce<unknown>((acc, file) => deepMerge(acc, file.value), {})
  const result = keelConfigSchema.safeParse(merged)
  if (!result.success) {
    const described = describeZodIssues(result.error.issues, keelConfigSchema, merged, {
      isSecret: (segments) => isSecretConfigPath(merged, segments),
      hint: (segments) => {
        const reference = retyped.get(formatPath(segments))
        return reference === undefined
          ? undefined
          : `\`${reference}\` was written unquoted, so its value was read as YAML; quote it ("${reference}") to keep a string`
      },
    })
    for (const issue of described) {
      const at = formatPath(issue.segments)
      // A field whose variable was missing already has an issue; its follow-on errors are noise.
      if (envPaths.some((envPath) => covers(envPath, at))) continue
      issues.push(locate(parsed, issue))
    }
  }
  if (issues.length > 0 || !result.success) return { ok: false, issues: sortIssues(issues, texts) }

  const config = result.data
  if (
    config.store.driver === 'sqlite' &&
    config.store.path !== ':memory:' &&
    baseDir !== undefined
  ) {
    config.store.path = path.resolve(baseDir, config.store.path)
  }
  if (baseDir !== undefined) {
    config.runbooks.paths = config.runbooks.paths.map((entry) => path.resolve(baseDir, entry))
  }
  const sources: Record<SourcedSection, Record<string, string>> = { monitors: {}, channels: {} }
  for (const file of parsed) {
    for (const section of ['monitors', 'channels'] as const) {
      const entries = file.value[section]
      if (!isRecord(entries)) continue
      for (const id of Object.keys(entries)) {
        if (Object.hasOwn(config[section], id)) sources[section][id] = file.file
      }
    }
  }
  const written = merged as UnknownRecord
  const raw: RawConfig = {
    ...written,
    monitors: (written.monitors ?? {}) as RawConfig['monitors'],
    channels: (written.channels ?? {}) as RawConfig['channels'],
  }
  return { ok: true, config, raw, files: parsed.map((file) => file.file), sources }
}

/**
 * Parses one keel.yaml text, for the API and tests; the same checks as {@link loadConfig}.
 * Relative paths resolve against `baseDir`, else the directory of `file`, else stay relative.
 */
export function parseConfigText(text: string, options: ParseConfigTextOptions): LoadResult {
  const file = options.file ?? 'keel.yaml'
  const baseDir =
    options.baseDir ?? (options.file === undefined ? undefined : path.dirname(options.file))
  return parseSources([{ file, text }], options.env, baseDir)
}

function fileError(error: unknown): string {
  const code = (error as { code?: unknown }).code
  if (code === 'ENOENT') return 'no such file or directory'
  if (code === 'EACCES' || code === 'EPERM')
    return 'permission denied; check the file mode and owner'
  return error instanceof Error ? error.message : String(error)
}

const yamlFile = /\.ya?ml$/i

/** The YAML files under a directory, recursively, in name order, hidden files and folders skipped. */
async function listYamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true })
  const candidates = entries
    .map((entry) => entry.split(path.sep).join('/'))
    .filter(
      (entry) => yamlFile.test(entry) && !entry.split('/').some((part) => part.startsWith('.')),
    )
    // Plain code-unit order, not the locale's, so the merge order is the same on every machine.
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const files: string[] = []
  for (const candidate of candidates) {
    const full = path.join(dir, candidate)
    if ((await stat(full)).isFile()) files.push(full)
  }
  return files
}

/**
 * Loads keel.yaml from a file, or from a directory whose `*.yaml`/`*.yml` files are merged in
 * name order (a later file overrides an earlier key, maps merge key by key, as in Gatus).
 * `${VAR}` references are expanded from `env`. Every issue is collected, none thrown.
 */
export async function loadConfig(configPath: string, env: Env): Promise<LoadResult> {
  let files: string[]
  let baseDir: string
  try {
    const info = await stat(configPath)
    if (info.isDirectory()) {
      files = await listYamlFiles(configPath)
      baseDir = configPath
      if (files.length === 0) {
        return {
          ok: false,
          issues: [
            { file: configPath, path: '', message: 'the directory has no *.yaml or *.yml files' },
          ],
        }
      }
    } else {
      files = [configPath]
      baseDir = path.dirname(configPath)
    }
  } catch (error) {
    return { ok: false, issues: [{ file: configPath, path: '', message: fileError(error) }] }
  }
  const sources: SourceText[] = []
  const issues: ConfigIssue[] = []
  for (const file of files) {
    try {
      sources.push({ file, text: await readFile(file, 'utf8') })
    } catch (error) {
      issues.push({ file, path: '', message: fileError(error) })
    }
  }
  if (issues.length > 0) return { ok: false, issues }
  const parsed = parseSources(sources, env, baseDir)
  return parsed.ok ? withCatalog(parsed, baseDir) : parsed
}
