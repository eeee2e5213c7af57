/** An error answered by the API, with its status and the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorName?: string,
    /** The server's `details`: for a 400, `{ path, message }` per bad field. */
    readonly details?: unknown,
  ) {
    super(message)
  }
}

/** Fired on `window` when the API says the session is gone, so the app can show the login page. */
export const unauthorizedEvent = 'keel:unauthorized'

/**
 * Calls the Keel API with the session cookie. Every request carries `X-Keel-CSRF: 1`, which the
 * server demands on state-changing requests authenticated by the cookie.
 */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { 'X-Keel-CSRF': '1', Accept: 'application/json' }
  if (init.body !== undefined) headers['Content-Type'] = 'application/json'
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  })
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let data: unknown
  try {
    data = text ? JSON.parse(text) : undefined
  } catch {
    data = undefined
  }
  if (!response.ok) {
    const error = (
      data as { error?: { name?: string; message?: string; details?: unknown } } | undefined
    )?.error
    if (response.status === 401 && path !== '/api/v1/session') {
      window.dispatchEvent(new Event(unauthorizedEvent))
    }
    throw new ApiError(
      response.status,
      error?.message ?? `${response.status} ${response.statusText}`,
      error?.name,
      error?.details,
    )
  }
  return data as T
}
