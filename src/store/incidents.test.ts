import { describe } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { runIncidentStoreContract } from './incidents.contract.js'

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(kind.skipReason ?? kind.name, () => {
    runIncidentStoreContract(kind)
  })
}
