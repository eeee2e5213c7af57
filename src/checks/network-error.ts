import { findPrivateTargetError } from './private-address.js'

/** Node and undici error codes a probe can meet, with the words an operator understands. */
const phrases: Record<string, string> = {
  ECONNREFUSED: 'connection refused by',
  ECONNRESET: 'connection reset by',
  EPIPE: 'connection closed by',
  ETIMEDOUT: 'timed out connecting to',
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting to',
  EHOSTUNREACH: 'no route to',
  ENETUNREACH: 'network unreachable for',
  EHOSTDOWN: 'host is down:',
  ENOTFOUND: 'cannot resolve the host of',
  EAI_AGAIN: 'cannot resolve (temporary DNS failure) the host of',
  EADDRNOTAVAIL: 'address not available:',
  UND_ERR_SOCKET: 'connection closed unexpectedly by',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time from',
  UND_ERR_BODY_TIMEOUT: 'response body stalled from',
}

const untrusted = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

function innermost(error: unknown): unknown {
  // Node's happy-eyeballs connect reports one AggregateError for all addresses it tried.
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors[0]
  return error
}

/** The code of a Node system error or undici error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const inner = innermost(error)
  if (inner && typeof inner === 'object' && 'code' in inner && typeof inner.code === 'string') {
    return inner.code
  }
  return undefined
}

/** The message of anything thrown, for places that have nothing better to say. */
export function errorMessage(error: unknown): string {
  const inner = innermost(error)
  if (inner instanceof Error) return inner.message || inner.name
  return String(inner)
}

/**
 * Turns a connection error into one sentence naming the target and, for TLS trust errors,
 * the fix (`connection refused by 127.0.0.1:8080`).
 */
export function describeNetworkError(error: unknown, target: string): string {
  // The SSRF guard's refusal already names the host, the address and the setting.
  const refused = findPrivateTargetError(error)
  if (refused) return refused.message
  const code = errorCode(error)
  const message = errorMessage(error)
  if (code && untrusted.has(code)) {
    return `TLS certificate of ${target} is not trusted: ${message}; fix the certificate or set tlsVerify: false`
  }
  if (code && (code.startsWith('ERR_SSL') || code === 'EPROTO' || code.startsWith('ERR_TLS'))) {
    return `TLS handshake with ${target} failed: ${message}`
  }
  const phrase = code ? phrases[code] : undefined
  if (phrase) return `${phrase} ${target}`
  return `${target}: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`
}
