import { describe } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { runEscalationStoreContract } from './escalations.contract.js'

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(kind.skipReason ?? kind.name, () => {
    runEscalationStoreContract(kind)
  })
}
