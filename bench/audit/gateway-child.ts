// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway process the kill -9 benchmark starts and kills: `startGateway` on a fixed port,
 * plus the tree-head checkpointer on a short cadence, so crashes also land mid-checkpoint.
 * Prints `READY` on stdout once listening.
 *
 *   node --import tsx bench/audit/gateway-child.ts <home> <port> [checkpointIntervalMs]
 */
import { startAuditCheckpoints } from '../../src/audit/checkpoints.js';
import { startGateway } from '../../src/main.js';
import { createLogger } from '../../src/telemetry/logger.js';

const [home, portText, intervalText] = process.argv.slice(2);
if (home === undefined || portText === undefined) throw new Error('usage: gateway-child <home> <port> [checkpointIntervalMs]');
const gateway = await startGateway({ home, port: Number(portText), env: {}, logger: createLogger({ level: 'silent' }) });
await startAuditCheckpoints({ db: gateway.store.db, fieldCrypto: gateway.store.fieldCrypto, intervalMs: Number(intervalText ?? 250) });
process.stdout.write('READY\n');
