/** A binary min-heap of items ordered by a numeric key; the scheduler's queue of due checks. */
export class MinHeap<T> {
  private readonly items: T[] = []

  constructor(private readonly key: (item: T) => number) {}

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    const items = this.items
    items.push(item)
    let i = items.length - 1
    const k = this.key(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = items[parent] as T
      if (this.key(p) <= k) break
      items[i] = p
      i = parent
    }
    items[i] = item
  }

  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    let i = 0
    const k = this.key(last)
    const n = items.length
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child =
        right < n && this.key(items[right] as T) < this.key(items[left] as T) ? right : left
      if (this.key(items[child] as T) >= k) break
      items[i] = items[child] as T
      i = child
    }
    items[i] = last
    return top
  }
}
