import type { ReactNode } from 'react'
import { ApiError } from './api'
import { fieldIssues, type FieldIssue } from './ops-types'
import { messageOf } from './use-api'

/** The errors of a failed save: the message and the field-level issues. */
export interface SaveError {
  message: string
  issues: FieldIssue[]
}

const field = '[A-Za-z][\\w]*(?:\\.[\\w]+)*'

/**
 * The field a message without `details` is about: the first one it quotes in backticks
 * ("`oneOff.end` must be after `oneOff.start`"), or the one it starts with ("title: required").
 */
function issuesFromMessage(message: string): FieldIssue[] {
  const quoted = new RegExp(`\`(${field})\``).exec(message)
  if (quoted?.[1]) return [{ path: quoted[1], message }]
  const leading = new RegExp(`^(${field}): `).exec(message)
  if (leading?.[1]) return [{ path: leading[1], message: message.slice(leading[0].length) }]
  return []
}

/** A failed save as a message plus the field-level issues of a 400. */
export function saveErrorOf(err: unknown): SaveError {
  const message = messageOf(err)
  if (!(err instanceof ApiError) || err.status !== 400) return { message, issues: [] }
  const issues = fieldIssues(err.details)
  return { message, issues: issues.length > 0 ? issues : issuesFromMessage(message) }
}

/** The messages of the issues about `field` (or anything under it). */
export function issuesAt(error: SaveError | undefined, field: string): string[] {
  return (error?.issues ?? [])
    .filter(
      (i) => i.path === field || i.path.startsWith(`${field}.`) || i.path.startsWith(`${field}[`),
    )
    .map((i) => i.message)
}

/** A labelled form field with the server's messages for it underneath. */
export function Field(props: {
  label: string
  htmlFor: string
  errors?: string[]
  hint?: ReactNode
  children: ReactNode
}) {
  const errors = props.errors ?? []
  return (
    <div className={`field${errors.length > 0 ? ' field-invalid' : ''}`}>
      <label htmlFor={props.htmlFor}>{props.label}</label>
      {props.children}
      {props.hint ? <span className="hint-text">{props.hint}</span> : null}
      {errors.map((e) => (
        <span key={e} className="field-error" data-field-error={props.htmlFor}>
          {e}
        </span>
      ))}
    </div>
  )
}
