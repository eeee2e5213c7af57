import { constants } from 'node:fs'
import { access, realpath, stat } from 'node:fs/promises'
import { dirname, isAbsolute, sep } from 'node:path'
import type { ProbeExecution } from './probe.js'

/**
 * Where the programs of API-created monitors may live (keel.yaml `checks.commandDirs`). One
 * object is shared by the API and the scheduler; a reload replaces `commandDirs` in place.
 */
export interface CommandPolicy {
  commandDirs: readonly string[]
}

/**
 * Who wrote a spec, for probes that execute: keel.yaml (the administrator, always allowed) or
 * the API (allowed only under `commandDirs`, re-checked before every run).
 */
export type SpecOrigin = { from: 'config' } | { from: 'api'; commandDirs: readonly string[] }

/** The origin of a stored monitor: `file:…` sources come from keel.yaml, anything else from the API. */
export function originOf(source: string, policy: CommandPolicy | undefined): SpecOrigin {
  return source.startsWith('file:')
    ? { from: 'config' }
    : { from: 'api', commandDirs: policy?.commandDirs ?? [] }
}

/** One reason an API-written spec may not run its program: the field's path and the fix. */
export interface ExecutionIssue {
  path: string
  message: string
}

/**
 * Variables that change which code a program loads or runs, or where it connects: the dynamic
 * loader, libc, shells and interpreters, proxies. The API may not set them (keel.yaml may).
 */
const dangerousEnvPrefixes = [
  'LD_',
  'DYLD_',
  'GLIBC_',
  'MALLOC_',
  'GCONV_',
  'LC_',
  'BASH_',
  'PERL',
  'PYTHON',
  'RUBY',
  'GEM_',
  'BUNDLE_',
  'NODE_',
  'NPM_',
  'JAVA',
  '_JAVA_',
  'JDK_',
  'LUA_',
  'TCL',
  'PHP',
  'DOTNET_',
  'GIT_',
  'SSH_',
  'SSL_',
  'OPENSSL_',
  'GNUTLS_',
  'NSS_',
  'KRB5',
  'CURL_',
  'XDG_',
]
const dangerousEnvNames = new Set([
  'PATH',
  'ENV',
  'IFS',
  'HOME',
  'SHELL',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'CDPATH',
  'TMPDIR',
  'LANG',
  'LANGUAGE',
  'LOCPATH',
  'NLSPATH',
  'TZ',
  'TZDIR',
  'HOSTALIASES',
  'RES_OPTIONS',
  'LOCALDOMAIN',
  'CLASSPATH',
  'TERMINFO',
  'TERMCAP',
  'INPUTRC',
  'ZDOTDIR',
  'EDITOR',
  'VISUAL',
  'PAGER',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'ALL_PROXY',
  'NO_PROXY',
  'FTP_PROXY',
  'PGSERVICEFILE',
  'PGSYSCONFDIR',
  'PGPASSFILE',
  'MYSQL_HOME',
  'MYSQL_UNIX_PORT',
])
// Upper case only: lower-case names (http_proxy) are read by libraries just as their upper-case twins.
const apiEnvName = /^[A-Z][A-Z0-9_]*$/

/** Why an environment variable may not come from the API, or undefined when it may. */
export function apiEnvRefusal(name: string): string | undefined {
  if (!apiEnvName.test(name)) {
    return `env name ${name} is not allowed from the API: use upper case letters, digits and _ (set others in keel.yaml)`
  }
  if (dangerousEnvNames.has(name) || dangerousEnvPrefixes.some((p) => name.startsWith(p))) {
    return `env ${name} can change which code the program runs, so the API may not set it; declare the monitor in keel.yaml`
  }
  return undefined
}

function within(file: string, dir: string): boolean {
  return file.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`)
}

async function resolvedDirs(commandDirs: readonly string[]): Promise<string[]> {
  const dirs: string[] = []
  for (const dir of commandDirs) {
    // A listed directory that is missing on this host allows nothing.
    const real = await realpath(dir).catch(() => undefined)
    if (real !== undefined) dirs.push(real)
  }
  return dirs
}

async function commandRefusal(
  command: string,
  commandDirs: readonly string[],
): Promise<string | undefined> {
  const listed = commandDirs.join(', ')
  const fix = 'add the directory to keel.yaml or declare the monitor in keel.yaml'
  if (commandDirs.length === 0) {
    return `\`command\` ${command}: monitors that run a program can be declared only in keel.yaml, or created through the API when keel.yaml lists the program's directory under checks.commandDirs (it lists none); ${fix}`
  }
  if (!isAbsolute(command)) {
    return `\`command\` ${command} must be an absolute path inside checks.commandDirs (${listed})`
  }
  if (command.split('/').includes('..')) {
    return `\`command\` ${command} must not contain ".."; write the plugin's path inside checks.commandDirs (${listed})`
  }
  const real = await realpath(command).catch(() => undefined)
  if (real === undefined) return `\`command\` ${command} does not exist on this host`
  const dirs = await resolvedDirs(commandDirs)
  if (!dirs.some((dir) => within(real, dir))) {
    const resolves = real !== command ? ` (it resolves to ${real})` : ''
    return `\`command\` ${command}${resolves} is not under checks.commandDirs (${listed}); ${fix}`
  }
  const info = await stat(real)
  if (!info.isFile()) return `\`command\` ${command} is not a regular file`
  if ((info.mode & 0o002) !== 0 || ((await stat(dirname(real))).mode & 0o002) !== 0) {
    return `\`command\` ${command}: it or its directory is writable by every user, so anyone could change what runs; fix its mode`
  }
  const executable = await access(real, constants.X_OK).then(
    () => true,
    () => false,
  )
  if (!executable) return `\`command\` ${command} is not executable by Keel; check its mode`
  return undefined
}

/**
 * The reasons a program named by an API-written spec may not run: its `command` must resolve
 * (symlinks followed, no `..`) to an executable regular file inside a `commandDirs` directory,
 * its `env` must not change which code runs, and `cwd` belongs in keel.yaml. Empty when it may.
 */
export async function apiExecutionIssues(
  execution: ProbeExecution,
  commandDirs: readonly string[],
): Promise<ExecutionIssue[]> {
  const issues: ExecutionIssue[] = []
  // A file system error while checking (a directory Keel may not read) refuses, never throws.
  const command = await commandRefusal(execution.command, commandDirs).catch(
    (error: unknown) =>
      `\`command\` ${execution.command} cannot be checked (${error instanceof Error ? error.message : String(error)}); make it and its directory readable by Keel`,
  )
  if (command !== undefined) issues.push({ path: 'command', message: command })
  for (const name of Object.keys(execution.env)) {
    const refusal = apiEnvRefusal(name)
    if (refusal !== undefined) issues.push({ path: `env.${name}`, message: refusal })
  }
  if (execution.cwd !== undefined) {
    issues.push({
      path: 'cwd',
      message:
        '`cwd` can change what the program loads, so the API may not set it; declare the monitor in keel.yaml',
    })
  }
  return issues
}
