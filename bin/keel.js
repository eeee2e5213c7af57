#!/usr/bin/env node
// Entry point of the `keel` command. Runs the TypeScript sources through tsx's loader, so a
// checkout works after `npm ci` with no build step.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/main.ts')
await main(process.argv)
