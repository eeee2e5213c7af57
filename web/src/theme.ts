import { useEffect, useState } from 'react'

/** A colour theme. */
export type Theme = 'light' | 'dark'

const storageKey = 'keel-theme'
const query = '(prefers-color-scheme: dark)'

function systemTheme(): Theme {
  return window.matchMedia(query).matches ? 'dark' : 'light'
}

function storedChoice(): Theme | undefined {
  try {
    const value = localStorage.getItem(storageKey)
    return value === 'light' || value === 'dark' ? value : undefined
  } catch {
    return undefined
  }
}

/** The theme to show now: the operator's choice, else the system's. */
export function currentTheme(): Theme {
  return storedChoice() ?? systemTheme()
}

/** Puts the theme on `<html data-theme>`, which the CSS variables follow. */
export function applyTheme(theme: Theme = currentTheme()): void {
  document.documentElement.dataset.theme = theme
}

/**
 * The theme and a toggle. The toggle stores an explicit choice; choosing what the system prefers
 * clears it, so the UI follows the system again.
 */
export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(currentTheme)
  useEffect(() => {
    const media = window.matchMedia(query)
    const follow = () => {
      if (storedChoice() === undefined) setTheme(systemTheme())
    }
    media.addEventListener('change', follow)
    return () => media.removeEventListener('change', follow)
  }, [])
  useEffect(() => applyTheme(theme), [theme])
  const toggle = () => {
    const next: Theme = theme === 'dark' ? 'light' : 'dark'
    try {
      if (next === systemTheme()) localStorage.removeItem(storageKey)
      else localStorage.setItem(storageKey, next)
    } catch {
      // Private windows may refuse storage; the toggle still works for this page.
    }
    setTheme(next)
  }
  return [theme, toggle]
}
