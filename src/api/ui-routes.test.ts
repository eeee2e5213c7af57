import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uiRoutes } from './ui-routes.js'

describe('the web UI routes', () => {
  let dir: string
  let app: FastifyInstance
  let missing: FastifyInstance
  const script = `console.log(${JSON.stringify('x'.repeat(4000))})\n`

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keel-ui-'))
    mkdirSync(join(dir, 'assets'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Keel</title>')
    writeFileSync(join(dir, 'assets', 'index-AbC123.js'), script)
    writeFileSync(join(dir, 'assets', 'index-AbC123.css'), 'body{}')
    app = Fastify()
    await app.register(uiRoutes, { dir })
    missing = Fastify()
    await missing.register(uiRoutes, { dir: join(dir, 'nope') })
  })
  afterAll(async () => {
    await app.close()
    await missing.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it.each(['/', '/login', '/monitors/db-main'])(
    'answers %s with index.html, revalidated, with a CSP',
    async (url) => {
      const response = await app.inject({ url })
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(response.headers['cache-control']).toBe('no-cache')
      expect(response.headers['content-security-policy']).toContain("default-src 'self'")
      expect(response.body).toContain('<title>Keel</title>')
      const again = await app.inject({
        url,
        headers: { 'if-none-match': String(response.headers.etag) },
      })
      expect(again.statusCode).toBe(304)
    },
  )

  it('serves hashed assets with their type, cached for a year, gzipped when accepted', async () => {
    const js = await app.inject({
      url: '/assets/index-AbC123.js',
      headers: { 'accept-encoding': 'gzip, br' },
    })
    expect(js.statusCode).toBe(200)
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(js.headers['content-encoding']).toBe('gzip')
    expect(Number(js.headers['content-length'])).toBeLessThan(script.length)
    const css = await app.inject({ url: '/assets/index-AbC123.css' })
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8')
    expect(css.body).toBe('body{}')
  })

  it.each([
    '/assets/nope.js',
    '/assets/..%2Findex.html',
    '/assets/%2e%2e%2fpackage.json',
    '/assets/.hidden',
  ])('answers %s with 404', async (url) => {
    expect((await app.inject({ url })).statusCode).toBe(404)
  })

  it('says how to build the UI when it is not built', async () => {
    const response = await missing.inject({ url: '/' })
    expect(response.statusCode).toBe(503)
    expect(response.body).toContain('npm run build:web')
  })
})
