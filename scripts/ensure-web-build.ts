// Builds the web UI (web/dist) when it is missing or older than its sources, so `npm start` and
// the browser test work on a fresh checkout; `npm run build:web` always rebuilds.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const web = join(root, 'web')
const builtIndex = join(web, 'dist', 'index.html')

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = stat.mtimeMs
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)))
  return newest
}

/** True when web/dist is missing or a source file changed after it was built. */
export function webBuildIsStale(): boolean {
  if (!existsSync(builtIndex)) return true
  const built = statSync(builtIndex).mtimeMs
  const sources = ['src', 'public', 'index.html', 'vite.config.ts'].map((p) => join(web, p))
  return sources.some((source) => newestMtime(source) > built)
}

/** Runs `vite build` for the web UI in a child process; throws with its output when it fails. */
export function buildWeb(): void {
  const require = createRequire(import.meta.url)
  const vite = join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js')
  const run = spawnSync(
    process.execPath,
    [vite, 'build', '--config', join(web, 'vite.config.ts'), '--logLevel', 'warn'],
    { cwd: root, encoding: 'utf8' },
  )
  if (run.status !== 0) {
    throw new Error(`building the web UI failed:\n${run.stdout}\n${run.stderr}`)
  }
}

/** Builds the web UI unless an up-to-date build is there; returns whether it built. */
export function ensureWebBuild(): boolean {
  if (!webBuildIsStale()) return false
  buildWeb()
  return true
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  if (ensureWebBuild()) console.log('keel: built the web UI into web/dist')
}
