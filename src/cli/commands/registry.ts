// SPDX-License-Identifier: Apache-2.0
/**
 * `phigate registry export|import|diff`: the whole registry (vendors with BAA records and
 * subprocessors, use cases with every version, state and approval) as one YAML file, for review
 * and version control. An import shows the diff and applies it in one transaction, or nothing;
 * one that widens PHI access is refused unless the file carries the approvals governance asks
 * for (registry/policy-as-code.ts). Runs offline on the state folder, audited like the gateway.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from '@commander-js/extra-typings';
import { formatImportPlan, type ImportReport } from '../../registry/policy-as-code.js';
import { homeOption } from '../options.js';
import { withRegistryCli } from './usecases.js';

const examples = `
Examples:
  phigate registry export --output registry.yaml      write the registry (stable key order, diff-friendly)
  phigate registry diff registry.yaml                 what importing the file would change (nothing is written)
  phigate registry import registry.yaml --dry-run     the same, as an import run
  phigate registry import registry.yaml               apply it: all or nothing

An import that widens PHI access (a BAA newly signed or extended, more services, regions, vendors,
models, purposes, roles, sensitive categories, FHIR data, free text on, review off, classification
changed) needs, in the file: for a use case, approvals of its serving version by current committee
members; for a vendor, a new BAA recording (recordedBy, recordedAt) by a user holding
admin:vendors.manage. Narrowing changes apply directly. Version specs are history: add a version
and point liveVersion at it instead of editing one.`;

function reportText(report: ImportReport): string {
  const { counts } = report;
  const head = report.dryRun ? 'dry run: nothing written' : report.applied ? `imported (registry revision ${report.revision})` : 'nothing to import';
  const tally = `vendors +${counts.vendorsAdded} ~${counts.vendorsChanged} -${counts.vendorsRemoved}; use cases +${counts.useCasesAdded} ~${counts.useCasesChanged} retired ${counts.useCasesRetired}`;
  return `${formatImportPlan(report)}\n${head}; ${tally}`;
}

async function runImport(file: string, options: { home?: string | undefined; json?: true | undefined }, dryRun: boolean): Promise<void> {
  const text = await readFile(file, 'utf8');
  const report = await withRegistryCli(options.home, async (cli) => {
    // The diff is shown before an import is tried, so a refusal is explained line by line.
    const preview = await cli.registry.importYaml(cli.operator, text, { dryRun: true });
    if (dryRun) return preview;
    if (!options.json) process.stdout.write(`${formatImportPlan(preview)}\n`);
    return cli.registry.importYaml(cli.operator, text);
  });
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${dryRun ? reportText(report) : reportText(report).split('\n').pop() ?? ''}\n`);
  // A diff of a file that would be refused exits 1, so a CI check can gate on it.
  if (dryRun && (report.problems.length > 0 || report.widening.some((w) => !w.authorised))) process.exitCode = 1;
}

/** Registers `phigate registry`. */
export function registerRegistryCommand(program: Command): void {
  const registry = program
    .command('registry')
    .description('the registry as code: export to YAML, diff and import (widening imports need approvals; every call is audited)')
    .addHelpText('after', examples);

  registry
    .command('export')
    .description('write the whole registry as YAML (stdout unless --output)')
    .addOption(homeOption())
    .option('--output <file>', 'write to this file (mode 0600) instead of stdout')
    .action(async (options) => {
      const yaml = await withRegistryCli(options.home, (cli) => cli.registry.exportYaml(cli.operator));
      if (options.output === undefined) process.stdout.write(yaml);
      else {
        await writeFile(options.output, yaml, { mode: 0o600 });
        process.stdout.write(`wrote ${options.output}\n`);
      }
    });

  registry
    .command('import <file>')
    .description('import a registry YAML file: shows the diff, then applies all of it or nothing')
    .addOption(homeOption())
    .option('--dry-run', 'show the diff only; write nothing')
    .option('--json', 'print the report as JSON')
    .action(async (file, options) => runImport(file, options, options.dryRun === true));

  registry
    .command('diff <file>')
    .description('what importing the file would change, field by field, and which changes widen PHI access (exit 1 when the import would be refused)')
    .addOption(homeOption())
    .option('--json', 'print the report as JSON')
    .action(async (file, options) => runImport(file, options, true));
}
