import { describe } from 'vitest'
import { storeKinds } from '../../test/helpers/stores.js'
import { runAccessContract } from './access.contract.js'

for (const kind of storeKinds) {
  describe.skipIf(kind.skipReason !== undefined)(kind.skipReason ?? kind.name, () => {
    runAccessContract(kind)
  })
}
