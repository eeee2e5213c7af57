/** One step into a config value: an object key or an array index. */
export type PathSegment = string | number

const plainKey = /^[A-Za-z0-9_$-]+$/

/**
 * Renders a path the way operators write it in keel.yaml: `monitors.web-home.channels[0]`.
 * Keys that are not plain words (dots, spaces) are quoted, as in `headers["X.Token"]`, so a
 * path always reads back to exactly one place.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let text = ''
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`
    else if (!plainKey.test(segment)) text += `[${JSON.stringify(segment)}]`
    else text += text === '' ? segment : `.${segment}`
  }
  return text
}
