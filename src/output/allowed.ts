// SPDX-License-Identifier: Apache-2.0
/**
 * The identifiers an answer may contain: this request's patient context (`KnownPhi`) and
 * whatever the model was given in this request's own payload. An identifier found in an answer
 * is compared with them in canonical form (normalise.ts), so writing style never turns the
 * patient's own name, phone or record number into a leak.
 *
 * Comparison rules, by what was found:
 * - names and street addresses: every identifying word of the finding is one of the context's
 *   words (the patient's names and addresses, or any word of the payload) — "Smith, John",
 *   "J. Smith" and "JOHN SMITH'S" all match "John Smith"; "John Brown" does not;
 * - phones and faxes: the national digits;
 * - numbers and codes (MRN, SSN, plan, account, licence, device, vehicle, other ids): the
 *   characters without separators, compared across those categories (a detector may call a
 *   record number an ID) and with the phone digits;
 * - FHIR patient references ("Patient/p1"): the whole reference, or its id alone;
 * - e-mail addresses: the whole address, case-insensitively;
 * - dates (only when a deployment counts them): the calendar day.
 *
 * Nothing here logs or keeps a finding's text beyond the call.
 */
import { parseWrittenDate } from '../deid/date-shift.js';
import type { KnownPhi, PhiCategory } from '../deid/types.js';
import { addressWords, emailKey, foldedWords, identifierKey, nameWords, patientReferenceId, phoneKey } from './normalise.js';

/** Whether a finding is one of the request's own identifiers. */
export interface AllowedIdentifiers {
  allows(type: PhiCategory, text: string): boolean;
}

export interface AllowedSources {
  /** The request patient's identifiers (from FHIR context). */
  readonly known?: KnownPhi | undefined;
  /** The texts the model was given in this request (messages, tool results, tool-call arguments). */
  readonly payload?: readonly string[];
}

interface Sets {
  readonly words: Set<string>;
  readonly ids: Set<string>;
  readonly phones: Set<string>;
  readonly emails: Set<string>;
  readonly days: Set<string>;
}

const emailPattern = /[\p{L}\p{N}._%+-]{1,64}@[\p{L}\p{N}-]{1,63}(?:\.[\p{L}\p{N}-]{1,63}){1,8}/gu;
// Digits written in groups ("555 814 8772", "999-12-9623", "(555) 814-8772"): compared by their digits.
const digitRun = /\(?\d{1,6}\)?(?:[ .()/-]{1,3}\d{1,6}){0,6}/g;
const chunkPattern = /[\p{L}\p{N}]+(?:[-_./:][\p{L}\p{N}]+)*/gu;

/** The calendar key of a written date: year-month-day, or what of it is written ("3/4" → month-day). */
function dayKey(text: string): string | undefined {
  const date = parseWrittenDate(text);
  if (!date) return undefined;
  return `${date.year ?? '*'}-${date.month}-${date.day ?? '*'}`;
}

/** A context date is stored with its partial forms too, so "March 4" matches 2021-03-04. */
function addDay(days: Set<string>, text: string): void {
  const date = parseWrittenDate(text);
  if (!date) return;
  days.add(`${date.year ?? '*'}-${date.month}-${date.day ?? '*'}`);
  days.add(`*-${date.month}-${date.day ?? '*'}`);
  if (date.year !== undefined) days.add(`${date.year}-${date.month}-*`);
}

function addPhone(sets: Sets, text: string): void {
  const key = phoneKey(text);
  if (key.length >= 7) sets.phones.add(key);
  const digits = text.replace(/\D/g, '');
  if (digits.length >= 4) sets.ids.add(digits);
}

function emptySets(): Sets {
  return { words: new Set(), ids: new Set(), phones: new Set(), emails: new Set(), days: new Set() };
}

function fromKnown(known: KnownPhi | undefined): Sets {
  const sets = emptySets();
  if (!known) return sets;
  for (const name of known.names ?? []) for (const word of nameWords(name)) sets.words.add(word);
  for (const address of known.addresses ?? []) {
    for (const word of addressWords(address)) sets.words.add(word);
    for (const word of foldedWords(address)) sets.words.add(word);
  }
  for (const id of known.identifiers ?? []) {
    sets.ids.add(identifierKey(id.value));
    if (id.type === 'PHONE' || id.type === 'FAX') addPhone(sets, id.value);
  }
  for (const phone of known.phones ?? []) {
    addPhone(sets, phone);
    sets.ids.add(identifierKey(phone));
  }
  for (const email of known.emails ?? []) {
    sets.emails.add(emailKey(email));
    for (const word of foldedWords(email.split('@')[0] ?? '')) sets.words.add(word);
  }
  for (const date of known.dates ?? []) addDay(sets.days, date);
  return sets;
}

function fromPayload(texts: readonly string[]): Sets {
  const sets = emptySets();
  for (const text of texts) {
    for (const word of foldedWords(text)) {
      sets.words.add(word);
      const stripped = word.replace(/\d+$/, '');
      if (stripped.length >= 2) sets.words.add(stripped);
      const long = addressWords(word)[0];
      if (long !== undefined) sets.words.add(long);
    }
    for (const m of text.matchAll(chunkPattern)) sets.ids.add(identifierKey(m[0]));
    for (const m of text.matchAll(digitRun)) addPhone(sets, m[0]);
    for (const m of text.matchAll(emailPattern)) sets.emails.add(emailKey(m[0]));
    for (const m of text.matchAll(/\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b|\b[A-Z][a-z]{2,8}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}\b/g)) {
      addDay(sets.days, m[0]);
    }
  }
  return sets;
}

const identifierTypes: ReadonlySet<PhiCategory> = new Set(['MRN', 'SSN', 'HEALTH_PLAN', 'ACCOUNT', 'LICENSE', 'VEHICLE', 'DEVICE', 'ID', 'BIOMETRIC', 'IP', 'OTHER']);

/**
 * Builds the comparison for one request. The payload's sets are built on the first finding that
 * the patient context does not settle, so answers without findings cost nothing.
 */
export function createAllowedIdentifiers(sources: AllowedSources): AllowedIdentifiers {
  const known = fromKnown(sources.known);
  let payload: Sets | undefined;
  const payloadSets = (): Sets => (payload ??= fromPayload(sources.payload ?? []));

  const wordsAllowed = (words: readonly string[], sets: Sets, other?: Sets): boolean =>
    words.every((word) => sets.words.has(word) || other?.words.has(word) === true);
  const idAllowed = (text: string, sets: Sets): boolean => {
    const key = identifierKey(text);
    if (key.length === 0) return true;
    if (sets.ids.has(key)) return true;
    // "Patient/p1" is the patient's own when the context lists the id "p1"
    const referenced = patientReferenceId(text);
    if (referenced !== undefined && sets.ids.has(identifierKey(referenced))) return true;
    const digits = key.replace(/\D/g, '');
    return digits.length >= 7 && digits.length === key.length && sets.phones.has(phoneKey(digits));
  };

  const check = (type: PhiCategory, text: string, sets: Sets, other?: Sets): boolean => {
    switch (type) {
      case 'NAME':
      case 'LOCATION':
      case 'ORGANIZATION':
      case 'PROFESSION': {
        // Names and addresses are both written as words; a detector may take a street named
        // after a person for a name, so either kind of context word counts.
        // A number inside a name or an address (a house number, a ZIP code, or something merged
        // into the span) must itself be the request's own.
        for (const m of text.matchAll(/(?<![\p{L}\p{N}])\d[\d-]{2,}(?![\p{L}\p{N}])/gu)) {
          const number = m[0].replace(/-/g, '');
          if (!sets.words.has(number) && !other?.words.has(number) && !sets.ids.has(number) && !other?.ids.has(number)) return false;
        }
        if (type !== 'NAME' && /\p{N}/u.test(text)) return wordsAllowed(addressWords(text), sets, other);
        return wordsAllowed(nameWords(text), sets, other) || (type !== 'NAME' && wordsAllowed(addressWords(text), sets, other));
      }
      case 'PHONE':
      case 'FAX': {
        const key = phoneKey(text);
        return key.length === 0 || sets.phones.has(key) || idAllowed(text, sets);
      }
      case 'EMAIL':
        return sets.emails.has(emailKey(text));
      case 'DATE': {
        const key = dayKey(text);
        return key === undefined || sets.days.has(key);
      }
      case 'AGE':
        return true;
      case 'URL':
        return sets.ids.has(identifierKey(text));
      case 'MRN':
      case 'SSN':
      case 'HEALTH_PLAN':
      case 'ACCOUNT':
      case 'LICENSE':
      case 'VEHICLE':
      case 'DEVICE':
      case 'ID':
      case 'BIOMETRIC':
      case 'IP':
      case 'OTHER':
        return idAllowed(text, sets) || (identifierTypes.has(type) && sets.phones.has(phoneKey(text)) && phoneKey(text).length >= 7);
    }
  };

  return {
    allows(type, text) {
      if (check(type, text, known)) return true;
      const p = payloadSets();
      // Words may come from both sources at once (a first name from FHIR, a surname the caller typed).
      return check(type, text, p, known);
    },
  };
}
