// SPDX-License-Identifier: Apache-2.0
/**
 * Request bodies for the gateway benchmark: chat completions carrying synthetic
 * clinical-style notes of about 1 KB and 8 KB. The text is written here, contains no real
 * person, and is the same for every target so the cells are comparable.
 */
import type { BodyName } from './options.js';

const SENTENCES = [
  'Synthetic follow-up note: patient seen in clinic for hypertension and type 2 diabetes, vitals stable.',
  'Medications reviewed with the patient; adherence reported as good, no new side effects.',
  'Blood pressure 128/82 seated, heart rate 72, weight unchanged since the last visit.',
  'Foot exam normal, monofilament sensation intact bilaterally, no ulcers.',
  'Plan: continue current regimen, recheck HbA1c and lipid panel in three months.',
  'Counselled on diet and activity; patient agrees to a walking program three times a week.',
] as const;

function note(targetChars: number): string {
  let text = '';
  for (let i = 0; text.length < targetChars; i++) text += `${SENTENCES[i % SENTENCES.length] ?? ''} `;
  return text.slice(0, targetChars);
}

/** The chat-completion request for a body name, as the JSON text sent on the wire. */
export function buildBody(name: BodyName, model: string): string {
  const size = name.startsWith('8k') ? 8 * 1024 : 1024;
  const instruction = 'Summarise this note for the discharge letter:\n';
  const system = 'You are a clinical documentation assistant.';
  // Fixed overhead of the envelope, so the whole body lands close to the nominal size.
  const envelope = JSON.stringify({ model, messages: [{ role: 'system', content: system }, { role: 'user', content: instruction }] }).length;
  const body: Record<string, unknown> = {
    model,
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: instruction + note(Math.max(64, size - envelope - 20)) },
    ],
  };
  if (name.endsWith('-stream')) body['stream'] = true;
  return JSON.stringify(body);
}

/** Whether a body asks for a streamed answer. */
export function isStreamBody(name: BodyName): boolean {
  return name.endsWith('-stream');
}
