import { describe, expect, it } from 'vitest'
import * as runbooks from './index.js'

describe('the runbooks domain index', () => {
  it('exports exactly the runbook functions and constants other parts may use', () => {
    expect(Object.keys(runbooks).sort()).toMatchInlineSnapshot(`
      [
        "applyRunEvent",
        "approvalPermission",
        "autoRunPermission",
        "autoRunWindowMs",
        "endTarget",
        "filterRunbooks",
        "findAnswer",
        "frontMatterSchema",
        "isAutomaticStep",
        "isFinished",
        "maxStepsPerRun",
        "needsApproval",
        "parameterEnvironment",
        "parameterNameProblem",
        "parseRunbook",
        "planRun",
        "redactParameters",
        "redactSecrets",
        "redactedValue",
        "renderHttpRequest",
        "resolveParameters",
        "roleAtLeast",
        "runPermission",
        "runStatuses",
        "runbookAnswersAlert",
        "runbookRoles",
        "secretParameterNames",
        "secretRedactor",
        "secretValues",
        "shellPath",
        "startRun",
        "stepGraphIssues",
        "stepSuccessors",
        "unknownRunbookEntities",
      ]
    `)
  })
})
