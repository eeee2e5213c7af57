import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiStoreKinds, startApiHarness, type ApiHarness } from './api-harness.js'
import { routeTable } from './route-guard.js'

const sqlite = apiStoreKinds.filter((k) => k.name === 'sqlite')

interface Operation {
  summary?: string
  tags?: string[]
  description?: string
  security?: unknown[]
  responses?: Record<string, unknown>
}

describe.each(sqlite)('GET /api/openapi.json on $name', ({ kind }) => {
  let h: ApiHarness
  let document: { openapi: string; paths: Record<string, Record<string, Operation>> }
  beforeAll(async () => {
    h = await startApiHarness(kind)
    const response = await h.app.inject({ url: '/api/openapi.json', headers: h.as('viewer') })
    expect(response.statusCode).toBe(200)
    document = response.json()
  }, 60_000)
  afterAll(async () => h?.close())

  it('is an OpenAPI 3 document', () => {
    expect(document.openapi).toMatch(/^3\./)
  })

  it('documents every registered route with a summary, a tag and a response', () => {
    const table = routeTable(h.app)
    expect(table.length).toBeGreaterThan(20)
    const missing: string[] = []
    for (const route of table) {
      const path = route.url.replace(/:(\w+)/g, '{$1}')
      const operation = document.paths[path]?.[route.method.toLowerCase()]
      if (!operation?.summary || !operation.tags?.length || !operation.responses) {
        missing.push(`${route.method} ${route.url}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('marks public routes as needing no token and others with their role', () => {
    expect(document.paths['/healthz']?.get?.security).toEqual([])
    expect(document.paths['/ping/{token}']?.post?.security).toEqual([])
    expect(document.paths['/api/v1/tokens']?.post?.description).toContain('Requires role `admin`')
    expect(document.paths['/api/v1/monitors']?.get?.security).toBeUndefined()
  })
})
