// SPDX-License-Identifier: Apache-2.0
/**
 * Every migration, in order. Names sort in the order they run (Kysely applies them by name), and
 * a name never changes once released. To add one: write `NNNN-what.ts` exporting a `Migration`,
 * import it here, and add one line at the end of the record.
 */
import type { Migration } from 'kysely';
import { migration0001Init } from './0001-init.js';
import { migration0002Audit } from './0002-audit.js';
import { migration0003Access } from './0003-access.js';
import { migration0004Auth } from './0004-auth.js';
import { migration0005AuditIntegrity } from './0005-audit-integrity.js';
import { migration0007AuditOps } from './0007-audit-ops.js';
import { migration0008Vendors } from './0008-vendors.js';
import { migration0009UseCases } from './0009-use-cases.js';
import { migration0010Documents } from './0010-documents.js';
import { migration0011Review } from './0011-review.js';
import { migration0012OutputIncidents } from './0012-output-incidents.js';
import { migration0013ContentRetention } from './0013-content-retention.js';

export const migrations: Readonly<Record<string, Migration>> = {
  '0001-init': migration0001Init,
  '0002-audit': migration0002Audit,
  '0003-access': migration0003Access,
  '0004-auth': migration0004Auth,
  '0005-audit-integrity': migration0005AuditIntegrity,
  '0007-audit-ops': migration0007AuditOps,
  '0008-vendors': migration0008Vendors,
  '0009-use-cases': migration0009UseCases,
  '0010-documents': migration0010Documents,
  '0011-review': migration0011Review,
  '0012-output-incidents': migration0012OutputIncidents,
  '0013-content-retention': migration0013ContentRetention,
};
