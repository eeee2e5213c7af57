import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Where `npm run build:web` writes the web UI. */
export const defaultWebDir = fileURLToPath(new URL('../../web/dist/', import.meta.url))

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
}

const compressible = new Set(['.html', '.js', '.css', '.svg', '.json', '.map', '.txt'])

/**
 * The UI loads nothing from elsewhere: no CDN, no web fonts, no inline script. uPlot and React
 * set styles through the CSSOM, which `style-src 'self'` allows.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

interface StaticFile {
  body: Buffer
  gzip?: Buffer
  etag: string
  type: string
}

/** Options of the UI routes. */
export interface UiRoutesOptions {
  /** The built UI (`web/dist`); defaults to the one beside the sources. */
  dir?: string
}

/** The pages added with incidents, on-call, silences and the monitor form (web/src/ops-routes.tsx). */
export const uiPageUrls = [
  '/incidents',
  '/incidents/:id',
  '/oncall',
  '/silences',
  '/maintenance',
  '/monitors/:id/edit',
  '/catalog',
  '/catalog/:id',
  '/runbooks',
  '/runbooks/:name',
  '/home',
  '/home/:role',
] as const

/**
 * Serves the built web UI: hashed files under `/assets/` cached for a year, and `index.html`
 * (never cached without revalidation) for the pages the single-page app routes itself: `/`,
 * `/login` and `/monitors/:id`. Files are read once and kept in memory with a gzip copy.
 */
export async function uiRoutes(app: FastifyInstance, options: UiRoutesOptions) {
  const dir = options.dir ?? defaultWebDir
  const cache = new Map<string, StaticFile>()

  async function load(name: string): Promise<StaticFile | undefined> {
    const hit = cache.get(name)
    if (hit) return hit
    let body: Buffer
    try {
      body = await readFile(join(dir, name))
    } catch {
      return undefined
    }
    const ext = extname(name)
    const file: StaticFile = {
      body,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      type: contentTypes[ext] ?? 'application/octet-stream',
      ...(compressible.has(ext) && body.length > 1024 ? { gzip: gzipSync(body) } : {}),
    }
    cache.set(name, file)
    return file
  }

  function send(
    request: FastifyRequest,
    reply: FastifyReply,
    file: StaticFile,
    cacheControl: string,
  ) {
    reply
      .header('content-type', file.type)
      .header('cache-control', cacheControl)
      .header('etag', file.etag)
      .header('x-content-type-options', 'nosniff')
      .header('vary', 'accept-encoding')
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send()
    const gzip = file.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))
    const body = gzip ? (file.gzip as Buffer) : file.body
    if (gzip) reply.header('content-encoding', 'gzip')
    reply.header('content-length', body.length)
    return reply.send(request.method === 'HEAD' ? undefined : body)
  }

  async function page(request: FastifyRequest, reply: FastifyReply) {
    const file = await load('index.html')
    if (!file) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web UI is not built: run `npm run build:web` (npm start does it for you).\n')
    }
    reply
      .header('content-security-policy', contentSecurityPolicy)
      .header('referrer-policy', 'same-origin')
      .header('x-frame-options', 'DENY')
    return send(request, reply, file, 'no-cache')
  }

  for (const url of ['/', '/login', '/setup', '/audit', '/monitors/:id', ...uiPageUrls]) {
    app.route({
      method: ['GET', 'HEAD'],
      url,
      schema: {
        summary: 'The web UI (a single-page app; needs no token, data comes from the API)',
        tags: ['ui'],
        response: {
          200: { description: 'index.html', type: 'string' },
          503: { description: 'The UI is not built yet.', type: 'string' },
        },
      },
      handler: page,
    })
  }

  app.route<{ Params: { file: string } }>({
    method: ['GET', 'HEAD'],
    url: '/assets/:file',
    schema: {
      summary: 'The web UI’s scripts and styles (content-hashed, cached for a year)',
      tags: ['ui'],
      response: {
        200: { description: 'A static file.', type: 'string' },
        404: { description: 'No such file.', type: 'string' },
      },
    },
    handler: async (request, reply) => {
      const name = request.params.file
      // Vite names every asset `name-hash.ext` in one flat folder; anything else is not ours.
      const file = /^[\w-]+(\.[\w-]+)*$/.test(name) ? await load(`assets/${name}`) : undefined
      if (!file) return reply.code(404).type('text/plain; charset=utf-8').send('not found\n')
      return send(request, reply, file, 'public, max-age=31536000, immutable')
    },
  })

  app.route({
    method: ['GET', 'HEAD'],
    url: '/favicon.svg',
    schema: {
      summary: 'The web UI’s icon',
      tags: ['ui'],
      response: {
        200: { description: 'An SVG image.', type: 'string' },
        404: { description: 'The UI is not built.', type: 'string' },
      },
    },
    handler: async (request, reply) => {
      const file = await load('favicon.svg')
      if (!file) return reply.code(404).type('text/plain; charset=utf-8').send('not found\n')
      return send(request, reply, file, 'public, max-age=86400')
    },
  })
}
