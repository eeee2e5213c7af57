import { useCallback, useEffect, useRef, useState } from 'react'
import { api } from './api'

/** The answer of one GET, re-read when `url` changes or `reload()` is called. */
export interface ApiState<T> {
  data: T | undefined
  error: string | undefined
  loading: boolean
  reload: () => void
}

/** Reads `url` from the API (nothing while it is undefined); keeps the last good answer. */
export function useApi<T>(url: string | undefined): ApiState<T> {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<string>()
  const [loading, setLoading] = useState(false)
  const [tick, setTick] = useState(0)
  useEffect(() => {
    if (url === undefined) return
    const controller = new AbortController()
    setLoading(true)
    api<T>(url, { signal: controller.signal })
      .then((answer) => {
        setData(answer)
        setError(undefined)
      })
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setError(err instanceof Error ? err.message : String(err))
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false)
      })
    return () => controller.abort()
  }, [url, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { data, error, loading, reload }
}

/** Calls `handler` whenever `name` fires on `window`; the latest handler is always used. */
export function useWindowEvent(name: string, handler: (event: Event) => void): void {
  const ref = useRef(handler)
  ref.current = handler
  useEffect(() => {
    const listener = (event: Event) => ref.current(event)
    window.addEventListener(name, listener)
    return () => window.removeEventListener(name, listener)
  }, [name])
}

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
