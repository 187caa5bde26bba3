// SPDX-License-Identifier: Apache-2.0
import { createMemoryTokenVaultRepo } from './memory-token-vault-repo.js';
import { runTokenVaultRepoContract } from './token-vault-repo.contract.js';

runTokenVaultRepoContract('memory', () => Promise.resolve(createMemoryTokenVaultRepo()));
