import { describe, expect, it } from 'vitest'
import * as statuspage from './index.js'

describe('the statuspage domain index', () => {
  it('exports exactly the status page functions and constants', () => {
    expect(Object.keys(statuspage).sort()).toEqual([
      'buildStatusPageView',
      'componentStatus',
      'formatUptime',
      'overallStatus',
      'overallText',
      'publicComponentRefs',
      'statusPageConfigSchema',
      'statusPageDays',
      'statusPageReferenceIssues',
      'statusText',
      'uptimeLevel',
    ])
  })
})
