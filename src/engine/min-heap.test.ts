import { describe, expect, it } from 'vitest'
import { MinHeap } from './min-heap.js'

describe('MinHeap', () => {
  it('pops items in key order whatever order they were pushed in', () => {
    const heap = new MinHeap<number>((x) => x)
    const input = [5, 3, 9, 1, 1, 8, 2, 7, 0, 6, 4]
    for (const x of input) heap.push(x)
    expect(heap.size).toBe(input.length)
    expect(heap.peek()).toBe(0)
    const out: number[] = []
    while (heap.size > 0) out.push(heap.pop() as number)
    expect(out).toEqual([...input].sort((a, b) => a - b))
    expect(heap.pop()).toBeUndefined()
  })
})
