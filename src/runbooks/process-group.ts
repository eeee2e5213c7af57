import { readdirSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'

interface ProcessStat {
  state: string
  processGroup: number
  /** Clock ticks after boot at which the process started (field 22 of /proc/<pid>/stat). */
  started: string
}

function readStat(pid: number): ProcessStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    const state = fields[0]
    const group = Number(fields[2])
    const started = fields[19]
    if (state === undefined || started === undefined || !Number.isInteger(group)) return undefined
    return { state, processGroup: group, started }
  } catch {
    return undefined
  }
}

/** The start time of a process (from /proc), or undefined when it is gone or /proc is missing. */
export function processStartTime(pid: number): string | undefined {
  return readStat(pid)?.started
}

/** Whether this host has a /proc to check processes with (Linux). */
export function canInspectProcesses(): boolean {
  return readStat(process.pid) !== undefined
}

/** This host's name, as run leases record it. */
export function thisHost(): string {
  return hostname()
}

/**
 * Whether a process is the one recorded: alive (not a zombie) with the same start time, so a pid
 * reused by an unrelated process does not count.
 */
export function isSameProcess(pid: number, started: string | undefined): boolean {
  const stat = readStat(pid)
  if (stat === undefined || stat.state === 'Z') return false
  return started === undefined || stat.started === started
}

function groupMembers(pgid: number): number[] {
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return []
  }
  return entries
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      const stat = readStat(pid)
      return stat !== undefined && stat.state !== 'Z' && stat.processGroup === pgid
    })
}

/**
 * Whether the process group a command step started is still there and still the one recorded.
 * Its leader (the shell) alive with the recorded start time is it; the leader alive with another
 * start time is an unrelated process that reused the pid (the kernel does not reuse a pid while a
 * group of that id exists, so the old group is gone); the leader gone, any live member of the
 * group is one of the command's children.
 */
export function isLeftoverGroup(pgid: number, started: string | undefined): boolean {
  const leader = readStat(pgid)
  if (leader !== undefined && leader.state !== 'Z') {
    return started !== undefined && leader.started === started && leader.processGroup === pgid
  }
  return groupMembers(pgid).length > 0
}

/** Kills a whole process group with SIGKILL; false when there was none to signal. */
export function killProcessGroup(pgid: number): boolean {
  try {
    process.kill(-pgid, 'SIGKILL')
    return true
  } catch {
    return false
  }
}
