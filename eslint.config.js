import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import { builtinModules } from 'node:module'
import tseslint from 'typescript-eslint'

// The core is pure (STYLE.md, "Dependency rules"): it imports only itself, zod and luxon, and
// never reads the clock. test/architecture.test.ts enforces the same rules over the import lines;
// these zones point at the offending line in an editor.

const outerRing = 'store, api, engine, checks, channels, config, cli, ingest'
const adapterPackages = ['fastify', 'kysely', 'pg', 'better-sqlite3', 'undici']

/** The no-restricted-imports options for core files `depth` folders below src/core. */
function coreImportRules(depth) {
  // From src/core/<a>/x.ts, `../b` is another core domain but `../../b` has left src/core.
  const leaveCore = `^(\\.\\./){${depth}}`
  return {
    patterns: [
      {
        regex: `^(${adapterPackages.join('|')})(/|$)`,
        message: 'src/core is pure: adapters import this package, core takes the result as data.',
      },
      {
        regex: `^(node:|(${builtinModules.join('|')})(/|$))`,
        message: 'src/core is pure: no Node built-ins; I/O belongs to the adapters.',
      },
      {
        regex: leaveCore,
        message: `src/core imports only src/core, zod and luxon, never the outer ring (${outerRing}).`,
      },
    ],
  }
}

const clockMessage = 'src/core never reads the clock: take `now: Instant` as an argument.'

export default defineConfig(
  {
    ignores: [
      '**/node_modules/',
      // dist/ and Vite's web/dist/ build output.
      '**/dist/',
      'coverage/',
      'test-artifacts/',
      // Temp stores and files written by tests.
      '.keel/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    // Plain Node scripts (bin/, bench/) run outside TypeScript's type-aware globals.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly' },
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['src/core/*.ts'],
    rules: { 'no-restricted-imports': ['error', coreImportRules(1)] },
  },
  {
    files: ['src/core/*/*.ts'],
    rules: { 'no-restricted-imports': ['error', coreImportRules(2)] },
  },
  {
    files: ['src/core/*/*/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', coreImportRules(3)] },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='Date'][property.name='now']",
          message: clockMessage,
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: clockMessage,
        },
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'src/core never reads the environment: pass the value in.',
        },
      ],
    },
  },
)
