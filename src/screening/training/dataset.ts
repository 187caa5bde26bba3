// SPDX-License-Identifier: Apache-2.0
/**
 * Reads the labelled injection data (`../shared/data/injection`, JSONL with `id`, `source`,
 * `text`, `label`) in place, and says which split and channel each row belongs to: the deepset
 * rows model the user's own prompt (`direct`), the BIPIA email rows third-party content placed
 * in the prompt (`indirect`). Splits come from the ids (`-train-` / `-test-`), as published.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScreeningChannel } from '../rules.js';

export interface InjectionRow {
  readonly id: string;
  readonly text: string;
  readonly label: 'injection' | 'benign';
  readonly split: 'train' | 'test';
  readonly channel: ScreeningChannel;
  /** Rows that must stay in one cross-validation fold: an injected email and its benign original share a group. */
  readonly group: string;
}

export const injectionDataFiles = { direct: 'deepset_prompt_injections.jsonl', indirect: 'bipia_email_indirect.jsonl' } as const;

function parseRow(line: string, channel: ScreeningChannel): InjectionRow {
  const raw = JSON.parse(line) as { id?: unknown; text?: unknown; label?: unknown; source?: unknown };
  if (typeof raw.id !== 'string' || typeof raw.text !== 'string' || (raw.label !== 'injection' && raw.label !== 'benign')) {
    throw new Error(`malformed injection data row: ${line.slice(0, 80)}`);
  }
  const split = raw.id.includes('-test-') ? 'test' : raw.id.includes('-train-') ? 'train' : undefined;
  if (!split) throw new Error(`row ${raw.id} names no split`);
  let group = raw.id;
  if (channel === 'indirect') {
    // "… embedded at middle of benchmark/email/train.jsonl[12].context" → the email it shares with bipia-email-train-012.
    const email = /email\/(train|test)\.jsonl\[(\d+)\]/.exec(String(raw.source ?? ''));
    if (email) group = `email-${email[1]}-${email[2]}`;
  }
  return { id: raw.id, text: raw.text, label: raw.label, split, channel, group };
}

/** Every row of both files under `dir`. */
export function loadInjectionRows(dir: string): InjectionRow[] {
  const rows: InjectionRow[] = [];
  for (const [channel, file] of Object.entries(injectionDataFiles) as [ScreeningChannel, string][]) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) if (line.trim() !== '') rows.push(parseRow(line, channel));
  }
  return rows;
}
