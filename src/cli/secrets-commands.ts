import type { Command, Option } from 'commander'
import { secretFieldsOf } from '../config/redact.js'
import type { Clock } from '../core/time.js'
import { rotateSecretKey } from '../services/secret-rotation.js'
import { openStore } from '../store/dialect.js'
import { loadConfigOrThrow, secretKeyPath } from './start-keel.js'

/** What the secrets commands borrow from `main.ts`. */
export interface SecretsCommandDeps {
  configOption(): Option
  out(text: string): void
  clock: Clock
}

/** Adds `keel secrets rotate` to the program. */
export function addSecretsCommands(program: Command, deps: SecretsCommandDeps): void {
  const secrets = program.command('secrets').description('the key that seals secrets at rest')
  secrets
    .command('rotate')
    .description(
      'replace the secret key and seal every stored secret with it; stop Keel first. Signed links and calendar feed URLs made with the old key stop working',
    )
    .addOption(deps.configOption())
    .option('--force', 'rotate even though nodes hold monitor leases (only when they are gone)')
    .action(async (options: { config: string; force?: boolean }) => {
      const loaded = await loadConfigOrThrow(options.config, process.env)
      // Opened without the secrets plugin: the rotation reads and writes the sealed text itself.
      const store = await openStore(loaded.config.store)
      try {
        const report = await rotateSecretKey({
          store,
          keyPath: secretKeyPath(loaded.config, options.config),
          env: process.env,
          now: deps.clock.now(),
          fieldsOf: secretFieldsOf,
          force: options.force ?? false,
        })
        deps.out(`Sealed the secrets of ${report.rows} monitors and channels with the new key.`)
        if (report.source === 'file') {
          deps.out(
            `The new key is in ${report.keyPath}; the old one is kept as ${report.previousKeyPath}`,
          )
          deps.out('to open backups taken before now. Start Keel again.')
        } else {
          deps.out('Now, on every node: set KEEL_SECRET_KEY to the value of KEEL_NEW_SECRET_KEY,')
          deps.out(
            'set KEEL_SECRET_KEY_PREVIOUS to the old KEEL_SECRET_KEY (to open older backups),',
          )
          deps.out('unset KEEL_NEW_SECRET_KEY, and start Keel again.')
        }
      } finally {
        await store.close()
      }
    })
}
