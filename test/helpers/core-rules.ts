import { readdirSync, readFileSync } from 'node:fs'
import { posix } from 'node:path'
import ts from 'typescript'

/** One core source file, its path relative to the repository root with `/` separators. */
export interface CoreSource {
  file: string
  source: string
}

/** Packages core may import besides itself (STYLE.md, "Dependency rules"). */
const allowedPackages = new Set(['zod', 'luxon'])

function packageName(specifier: string): string {
  const [first = '', second = ''] = specifier.split('/')
  return first.startsWith('@') ? `${first}/${second}` : first
}

/** The domain folder a core path belongs to, or undefined for a shared file directly in src/core. */
function domainOf(coreRelative: string): string | undefined {
  const parts = coreRelative.split('/')
  return parts.length > 1 ? parts[0] : undefined
}

/** The relative specifier a file should use for a domain's index, `./checks/index.js` style. */
function indexSpecifier(file: string, domain: string): string {
  const relative = posix.relative(posix.dirname(file), `src/core/${domain}/index.js`)
  return relative.startsWith('.') ? relative : `./${relative}`
}

interface ImportSite {
  specifier: string | undefined
  line: number
}

function importSites(sourceFile: ts.SourceFile): ImportSite[] {
  const sites: ImportSite[] = []
  const lineOf = (node: ts.Node) =>
    sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined
    ) {
      const spec = node.moduleSpecifier
      sites.push({
        specifier: ts.isStringLiteral(spec) ? spec.text : undefined,
        line: lineOf(node),
      })
    } else if (ts.isImportEqualsDeclaration(node)) {
      const ref = node.moduleReference
      if (ts.isExternalModuleReference(ref)) {
        const spec = ref.expression
        sites.push({
          specifier: ts.isStringLiteral(spec) ? spec.text : undefined,
          line: lineOf(node),
        })
      }
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [spec] = node.arguments
      const literal = spec !== undefined && ts.isStringLiteralLike(spec) ? spec.text : undefined
      sites.push({ specifier: literal, line: lineOf(node) })
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument
      const literal =
        ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal) ? arg.literal.text : undefined
      sites.push({ specifier: literal, line: lineOf(node) })
    }
    ts.forEachChild(node, visit)
  }
  visit(sourceFile)
  return sites
}

function isIdentifier(node: ts.Node, name: string): boolean {
  return ts.isIdentifier(node) && node.text === name
}

function propertyName(node: ts.Node): string | undefined {
  if (ts.isPropertyAccessExpression(node)) return node.name.text
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) {
    return node.argumentExpression.text
  }
  return undefined
}

/** Reads of the clock and of the environment, found in the syntax tree so comments never count. */
function impureSites(sourceFile: ts.SourceFile): { what: string; line: number }[] {
  const sites: { what: string; line: number }[] = []
  const lineOf = (node: ts.Node) =>
    sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
      const name = propertyName(node)
      if (isIdentifier(node.expression, 'Date') && name === 'now') {
        sites.push({ what: 'Date.now()', line: lineOf(node) })
      }
      if (isIdentifier(node.expression, 'process') && name === 'env') {
        sites.push({ what: 'process.env', line: lineOf(node) })
      }
    }
    if (
      ts.isNewExpression(node) &&
      isIdentifier(node.expression, 'Date') &&
      (node.arguments === undefined || node.arguments.length === 0)
    ) {
      sites.push({ what: 'new Date()', line: lineOf(node) })
    }
    ts.forEachChild(node, visit)
  }
  visit(sourceFile)
  return sites
}

/**
 * The dependency-rule violations of one core file, each naming the file, the line and the
 * offending import or call. `file` is relative to the repository root (`src/core/x/y.ts`).
 */
export function checkCoreSource({ file, source }: CoreSource): string[] {
  const problems: string[] = []
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true)
  const fromCore = posix.relative('src/core', file)
  const ownDomain = domainOf(fromCore)

  for (const { specifier, line } of importSites(sourceFile)) {
    const where = `${file}:${line}`
    if (specifier === undefined) {
      problems.push(`${where} imports a computed module path; core imports must be string literals`)
      continue
    }
    if (!specifier.startsWith('.')) {
      if (!allowedPackages.has(packageName(specifier))) {
        problems.push(
          `${where} imports '${specifier}'; core may import only src/core, zod and luxon`,
        )
      }
      continue
    }
    const target = posix.normalize(posix.join(posix.dirname(file), specifier))
    if (!target.startsWith('src/core/')) {
      problems.push(
        `${where} imports '${specifier}' (${target}), which is outside src/core; core never imports an adapter`,
      )
      continue
    }
    const targetFromCore = posix.relative('src/core', target)
    const targetDomain = domainOf(targetFromCore)
    if (targetDomain === undefined || targetDomain === ownDomain) continue
    if (targetFromCore !== `${targetDomain}/index.js`) {
      problems.push(
        `${where} imports '${specifier}', an internal file of core/${targetDomain}; import '${indexSpecifier(file, targetDomain)}' instead`,
      )
    }
  }

  for (const { what, line } of impureSites(sourceFile)) {
    const why =
      what === 'process.env'
        ? 'core never reads the environment; pass the value in'
        : 'core never reads the clock; take `now` as an argument'
    problems.push(`${file}:${line} uses ${what}; ${why}`)
  }
  return problems
}

/** Domain-level import cycles (`alerts → checks → alerts`), found over all core files. */
export function findDomainCycles(sources: readonly CoreSource[]): string[] {
  const edges = new Map<string, Set<string>>()
  for (const { file, source } of sources) {
    const from = domainOf(posix.relative('src/core', file))
    if (from === undefined) continue
    const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true)
    for (const { specifier } of importSites(sourceFile)) {
      if (specifier?.startsWith('.') !== true) continue
      const target = posix.relative(
        'src/core',
        posix.normalize(posix.join(posix.dirname(file), specifier)),
      )
      const to = domainOf(target)
      if (to === undefined || to === from || target.startsWith('..')) continue
      if (!edges.has(from)) edges.set(from, new Set())
      edges.get(from)?.add(to)
    }
  }
  const cycles = new Set<string>()
  const walk = (domain: string, path: string[]): void => {
    const at = path.indexOf(domain)
    if (at >= 0) {
      const loop = path.slice(at)
      // Rotate so each cycle is reported once, starting from its smallest domain name.
      const start = loop.indexOf([...loop].sort()[0] as string)
      const rotated = [...loop.slice(start), ...loop.slice(0, start)]
      cycles.add(
        `core domains import each other in a cycle: ${[...rotated, rotated[0]].join(' → ')}`,
      )
      return
    }
    for (const next of edges.get(domain) ?? []) walk(next, [...path, domain])
  }
  for (const domain of edges.keys()) walk(domain, [])
  return [...cycles].sort()
}

/** Every `.ts` file under `src/core` of the checkout at `root`, except tests and contract suites. */
export function readCoreSources(root: string): CoreSource[] {
  const entries = readdirSync(posix.join(root, 'src/core'), {
    recursive: true,
    withFileTypes: true,
  })
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .filter((e) => !/\.(test|contract|d)\.ts$/.test(e.name))
    .map((e) => {
      const absolute = posix.join(e.parentPath, e.name)
      return {
        file: posix.relative(root, absolute),
        source: readFileSync(absolute, 'utf8'),
      }
    })
    .sort((a, b) => (a.file < b.file ? -1 : 1))
}

/** Every violation of the core dependency rules in the given files. */
export function checkCoreSources(sources: readonly CoreSource[]): string[] {
  return [...sources.flatMap(checkCoreSource), ...findDomainCycles(sources)]
}
