import { describe } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { runStoreContract } from './store.contract.js'

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(kind.skipReason ?? kind.name, () => {
    runStoreContract(kind)
  })
}
