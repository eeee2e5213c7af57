/** Labels identify an alert; the same labels always give the same fingerprint. */
export type Labels = Record<string, string>

const offset64 = 14695981039346656037n
const prime64 = 1099511628211n
const separator = 255
const encoder = new TextEncoder()

function addBytes(hash: bigint, bytes: Uint8Array): bigint {
  let h = hash
  for (const byte of bytes) h = BigInt.asUintN(64, (h ^ BigInt(byte)) * prime64)
  return h
}

/**
 * The fingerprint of a label set, computed exactly as Prometheus' `LabelSet.Fingerprint()`
 * (FNV-1a 64 over sorted name/value pairs, each followed by byte 255), so an alert that came
 * through Alertmanager keeps the fingerprint Alertmanager showed for it.
 */
export function fingerprint(labels: Labels): string {
  let hash = offset64
  const sep = Uint8Array.of(separator)
  for (const name of Object.keys(labels).sort()) {
    // Prometheus treats an empty value as an absent label; Alertmanager drops them too.
    if (labels[name] === '') continue
    hash = addBytes(hash, encoder.encode(name))
    hash = addBytes(hash, sep)
    hash = addBytes(hash, encoder.encode(labels[name] as string))
    hash = addBytes(hash, sep)
  }
  return hash.toString(16).padStart(16, '0')
}
