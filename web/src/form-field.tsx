import type { ReactNode } from 'react'
import { ApiError } from './api'
import { fieldIssues, type FieldIssue } from './ops-types'
import { messageOf } from './use-api'

/** The errors of a failed save: the message and the field-level issues. */
export interface SaveError {
  message: string
  issues: FieldIssue[]
}

/** A failed save as a message plus the field-level issues of a 400. */
export function saveErrorOf(err: unknown): SaveError {
  return {
    message: messageOf(err),
    issues: err instanceof ApiError ? fieldIssues(err.details) : [],
  }
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
