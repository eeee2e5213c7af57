import type { FastifyRequest } from 'fastify'
import type { ServiceContext } from '../services/context.js'
import { actorOf } from './route-guard.js'
import type { ApiDeps } from './server.js'

/** The service context of one request: the API's store and clock, acting as the signed-in user. */
export function serviceContext(deps: ApiDeps, request: FastifyRequest): ServiceContext {
  return { db: deps.db, clock: deps.clock, actor: actorOf(request) }
}
