import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from '../core/time.js'
import {
  loadStatusPageView,
  type LoadedStatusPage,
  type MaintenanceSource,
} from '../services/status-page.js'
import type { Db } from '../store/dialect.js'
import type { ApiDeps } from './server.js'
import {
  renderStatusAtom,
  renderStatusHtml,
  renderStatusRss,
  statusPageCssHash,
  statusSummaryJson,
} from './status-page-render.js'

/** One precomputed response body with its validators. */
interface Asset {
  body: Buffer
  gzip?: Buffer
  etag: string
  lastModified: string
  type: string
}

/** The four documents of one snapshot, or none when nothing is public. */
interface Snapshot {
  assets?: { html: Asset; json: Asset; rss: Asset; atom: Asset }
  maxAge: number
  expiresAt: number
  /** The page's Content-Security-Policy (it allows the logo's origin, when it has one). */
  csp: string
}

/** The URLs the status page answers on; all are public (see `publicRoutes`). */
export const statusPageUrls = {
  html: '/status',
  json: '/status/api/summary.json',
  rss: '/status/feed.rss',
  atom: '/status/feed.atom',
} as const

const retryAfterFailureMs = 5_000

function contentSecurityPolicy(logoUrl: string | undefined): string {
  let img = "'self' data:"
  if (logoUrl && /^https?:\/\//.test(logoUrl)) img += ` ${new URL(logoUrl).origin}`
  return [
    "default-src 'none'",
    `style-src ${statusPageCssHash}`,
    `img-src ${img}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

function asset(text: string, type: string, at: number, previous: Asset | undefined): Asset {
  const body = Buffer.from(text)
  const etag = `"${createHash('sha1').update(body).digest('base64url')}"`
  const gzip = body.length > 1024 ? gzipSync(body) : undefined
  return {
    body,
    ...(gzip && gzip.length < body.length ? { gzip } : {}),
    etag,
    // Unchanged bytes keep their date, so If-Modified-Since keeps answering 304 across refreshes.
    lastModified: previous?.etag === etag ? previous.lastModified : new Date(at).toUTCString(),
    type,
  }
}

/**
 * The status page's snapshot: computed at most once per `cacheSeconds` from one set of queries
 * and kept as ready bytes. Requests arriving while it is recomputed wait for that one refresh
 * instead of starting their own, so a burst after expiry costs one computation.
 */
export class StatusPageCache {
  private current: Snapshot | undefined
  private refreshing: Promise<Snapshot> | undefined

  constructor(
    private readonly options: {
      load: () => Promise<LoadedStatusPage | undefined>
      clock: Clock
      onError?: (err: unknown) => void
    },
  ) {}

  /** The current snapshot, refreshed first when it has expired. */
  get(): Promise<Snapshot> | Snapshot {
    const current = this.current
    if (current && this.options.clock.now() < current.expiresAt) return current
    this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined))
    return this.refreshing
  }

  private async refresh(): Promise<Snapshot> {
    const now = this.options.clock.now()
    let loaded: LoadedStatusPage | undefined
    try {
      loaded = await this.options.load()
    } catch (err) {
      // Keep serving the last good page for a while rather than fail the public.
      if (!this.current) throw err
      this.options.onError?.(err)
      this.current = { ...this.current, expiresAt: now + retryAfterFailureMs }
      return this.current
    }
    const previous = this.current?.assets
    const maxAge = loaded?.cacheSeconds ?? 10
    const snapshot: Snapshot = {
      maxAge,
      expiresAt: now + maxAge * 1000,
      csp: contentSecurityPolicy(loaded?.view.logoUrl),
      ...(loaded
        ? {
            assets: {
              html: asset(
                renderStatusHtml(loaded.view),
                'text/html; charset=utf-8',
                now,
                previous?.html,
              ),
              json: asset(
                JSON.stringify(statusSummaryJson(loaded.view)),
                'application/json; charset=utf-8',
                now,
                previous?.json,
              ),
              rss: asset(
                renderStatusRss(loaded.view),
                'application/rss+xml; charset=utf-8',
                now,
                previous?.rss,
              ),
              atom: asset(
                renderStatusAtom(loaded.view),
                'application/atom+xml; charset=utf-8',
                now,
                previous?.atom,
              ),
            },
          }
        : {}),
    }
    this.current = snapshot
    return snapshot
  }
}

function notModified(request: FastifyRequest, item: Asset): boolean {
  const match = request.headers['if-none-match']
  if (match !== undefined) {
    return match
      .split(',')
      .map((tag) => tag.trim().replace(/^W\//, ''))
      .some((tag) => tag === item.etag || tag === '*')
  }
  const since = request.headers['if-modified-since']
  if (since === undefined) return false
  const at = Date.parse(since)
  return Number.isFinite(at) && Date.parse(item.lastModified) <= at
}

function send(
  request: FastifyRequest,
  reply: FastifyReply,
  snapshot: Snapshot,
  which: 'html' | 'json' | 'rss' | 'atom',
) {
  const item = snapshot.assets?.[which]
  if (!item) {
    return reply
      .code(404)
      .header('cache-control', 'no-store')
      .type('text/plain; charset=utf-8')
      .send(
        'No status page is configured: add a `statusPage` section to keel.yaml (or mark monitors `public: true`) and apply it.',
      )
  }
  reply
    .header('etag', item.etag)
    .header('last-modified', item.lastModified)
    .header('cache-control', `public, max-age=${snapshot.maxAge}`)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff')
  if (which === 'html') reply.header('content-security-policy', snapshot.csp)
  if (which === 'json') reply.header('access-control-allow-origin', '*')
  if (notModified(request, item)) return reply.code(304).send()
  reply.type(item.type)
  const accepts = request.headers['accept-encoding']
  if (item.gzip && accepts !== undefined && /\bgzip\b/.test(accepts)) {
    return reply.header('content-encoding', 'gzip').send(item.gzip)
  }
  return reply.send(item.body)
}

/** Options of the status page routes. */
export interface StatusPageRoutesOptions {
  deps: Pick<ApiDeps, 'db' | 'clock' | 'publicUrl' | 'log'> & { maintenance?: MaintenanceSource }
}

/**
 * The public status page (`/status`), its JSON summary and its RSS and Atom feeds. They need no
 * login and show only public components; all four come from one cached snapshot.
 */
export async function statusPageRoutes(app: FastifyInstance, options: StatusPageRoutesOptions) {
  const { deps } = options
  const db: Db = deps.db
  const cache = new StatusPageCache({
    clock: deps.clock,
    load: () =>
      loadStatusPageView(db, {
        now: deps.clock.now(),
        ...(deps.publicUrl ? { publicUrl: deps.publicUrl } : {}),
        ...(deps.maintenance ? { maintenance: deps.maintenance } : {}),
      }),
    onError: (err) =>
      deps.log.error({ err }, 'refreshing the status page failed; serving the last one'),
  })
  const routes = [
    ['html', statusPageUrls.html, 'The public status page (HTML, no script)', 'text/html'],
    ['json', statusPageUrls.json, 'The public status summary (JSON)', 'application/json'],
    [
      'rss',
      statusPageUrls.rss,
      'Incidents and maintenance as an RSS 2.0 feed',
      'application/rss+xml',
    ],
    [
      'atom',
      statusPageUrls.atom,
      'Incidents and maintenance as an Atom 1.0 feed',
      'application/atom+xml',
    ],
  ] as const
  for (const [which, url, summary, type] of routes) {
    app.route({
      method: ['GET', 'HEAD'],
      url,
      schema: {
        summary,
        description:
          'Public: no token. Served from a snapshot refreshed every `statusPage.cacheSeconds` (10 s by default); honours If-None-Match and If-Modified-Since.',
        tags: ['status page'],
        response: {
          200: {
            description: `The document (${type}).`,
            type: which === 'json' ? 'object' : 'string',
          },
          304: { description: 'Not modified since the ETag or date sent.', type: 'null' },
          404: { description: 'No status page is configured.', type: 'string' },
        },
      },
      handler: async (request, reply) => send(request, reply, await cache.get(), which),
    })
  }
}
