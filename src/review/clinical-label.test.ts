// SPDX-License-Identifier: Apache-2.0
// The clinical label, citations, stated confidence and source attributes, on plain results,
// streams and JSON-mode answers.
import { describe, expect, it } from 'vitest';
import { collectStream } from '../providers/testing/collect-stream.js';
import type { ChatDelta, ChatResult } from '../providers/types.js';
import { sampleSourceAttributes } from '../registry/testing/registry-fixtures.js';
import { clinicalLabel, extractConfidence, isJsonMode, labelResult, labelStream, releasedResult, type AnnotationBase, type PhigateAnnotation } from './clinical-label.js';

const base: AnnotationBase = {
  labelled: true,
  citations: [
    { documentId: 'DocumentReference/note-1', chunkId: 'c3', label: 'Discharge summary, 2026-Q1' },
    { documentId: 'doc-9', chunkId: 'c1' },
  ],
  useCase: { id: 'ddx', version: 4 },
  sourceAttributes: sampleSourceAttributes,
};

const result = (content: string | null, extra: Partial<ChatResult['choices'][number]['message']> = {}): ChatResult => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_800_000_000,
  model: 'acme-large',
  choices: [{ index: 0, message: { role: 'assistant', content, ...extra }, finish_reason: 'stop', logprobs: null }],
});

function chunk(content: string | undefined, finish: ChatDelta['choices'][number]['finish_reason'] = null, extra: Partial<ChatDelta['choices'][number]['delta']> = {}): ChatDelta {
  return { id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1_800_000_000, model: 'acme-large', choices: [{ index: 0, delta: { ...(content === undefined ? {} : { content }), ...extra }, finish_reason: finish }] };
}

async function* stream(...chunks: ChatDelta[]): AsyncGenerator<ChatDelta> {
  yield* chunks;
}

const annotationOf = (value: unknown): PhigateAnnotation | undefined => (value as { phigate?: PhigateAnnotation }).phigate;

describe('extractConfidence', () => {
  it('reads what the model stated, as 0–1', () => {
    const cases: [string, number][] = [
      ['Likely community-acquired pneumonia.\nConfidence: 80%', 0.8],
      ['**Confidence level:** 0.65', 0.65],
      ['- confidence = 7/10', 0.7],
      ['Start amoxicillin. Confidence: 85', 0.85],
      ['Confidence score: 92 percent', 0.92],
      ['{"diagnosis":"CAP","confidence":0.9}', 0.9],
      ['{"diagnosis":"CAP","confidence":75}', 0.75],
      ['{"diagnosis":"CAP","confidence":"60%"}', 0.6],
      ['Confidence: 40%\n…after reviewing the labs…\nConfidence: 55%', 0.55],
    ];
    for (const [text, expected] of cases) expect(extractConfidence(text), text).toBe(expected);
  });

  it('never makes one up', () => {
    for (const text of [
      'Likely pneumonia.',
      'I have low confidence in this reading.',
      'Confidence: high',
      'Confidence: 150%',
      'Overconfidence: 3',
      'The confidence interval was 1.2-3.4.',
      '{"diagnosis":"CAP","confidence":"high"}',
      '{"diagnosis":"CAP","confidence":-0.2}',
      '',
    ]) {
      expect(extractConfidence(text), text).toBeUndefined();
    }
    expect(extractConfidence(null)).toBeUndefined();
  });
});

describe('labelResult', () => {
  it('puts the label on the first line and the annotation beside OpenAI\'s fields', () => {
    const labelled = labelResult(result('Consider CAP; start amoxicillin.\nConfidence: 80%'), base, false);
    expect(labelled.choices[0]?.message.content).toBe(`${clinicalLabel}\n\nConsider CAP; start amoxicillin.\nConfidence: 80%`);
    expect(labelled.phigate).toEqual({
      label: 'AI-generated suggestion — clinical judgment required',
      citations: [
        { document_id: 'DocumentReference/note-1', chunk_id: 'c3', label: 'Discharge summary, 2026-Q1' },
        { document_id: 'doc-9', chunk_id: 'c1' },
      ],
      confidence: 0.8,
      use_case: { id: 'ddx', version: 4 },
      source_attributes: {
        developer: sampleSourceAttributes.developer,
        intended_use: sampleSourceAttributes.intendedUse,
        training_data: sampleSourceAttributes.trainingData,
        validation: sampleSourceAttributes.validation,
        known_risks: sampleSourceAttributes.knownRisks,
        limitations: sampleSourceAttributes.limitations,
      },
    });
    // The wire form is plain JSON with the annotation kept.
    expect(JSON.parse(JSON.stringify(labelled)).phigate.label).toBe(clinicalLabel);
  });

  it('leaves JSON answers parseable and reads their confidence member', () => {
    const json = '{"differential":["CAP","PE"],"confidence":0.72}';
    const labelled = labelResult(result(json), base, true);
    expect(labelled.choices[0]?.message.content).toBe(json);
    expect(JSON.parse(labelled.choices[0]?.message.content ?? '')).toEqual({ differential: ['CAP', 'PE'], confidence: 0.72 });
    expect(labelled.phigate).toMatchObject({ label: clinicalLabel, confidence: 0.72 });
  });

  it('has no confidence field when none was stated, and leaves tool-call-only answers without text', () => {
    const plain = labelResult(result('Consider CAP.'), base, false);
    expect(plain.phigate).not.toHaveProperty('confidence');
    const tools = labelResult(result(null, { tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'order_lab', arguments: '{}' } }] }), base, false);
    expect(tools.choices[0]?.message.content).toBeNull();
    expect(tools.phigate.label).toBe(clinicalLabel);
  });

  it('knows JSON mode from response_format', () => {
    expect(isJsonMode({ response_format: { type: 'json_object' } })).toBe(true);
    expect(isJsonMode({ response_format: { type: 'json_schema', json_schema: { name: 'x' } } })).toBe(true);
    expect(isJsonMode({ response_format: { type: 'text' } })).toBe(false);
    expect(isJsonMode({})).toBe(false);
  });
});

describe('labelStream', () => {
  it('labels the first chunk and annotates the finishing chunk with the confidence of the whole text', async () => {
    const out = await collectStream(labelStream(stream(chunk('', null, { role: 'assistant' }), chunk('Consider CAP. Confi'), chunk('dence: 6'), chunk('5%'), chunk(undefined, 'stop')), base, false));
    expect(out.content).toBe(`${clinicalLabel}\n\nConsider CAP. Confidence: 65%`);
    const [first, ...rest] = out.chunks;
    expect(first?.choices[0]?.delta.content).toBe(`${clinicalLabel}\n\n`);
    expect(annotationOf(first)).toMatchObject({ label: clinicalLabel, use_case: { id: 'ddx', version: 4 } });
    expect(annotationOf(first)).not.toHaveProperty('confidence');
    const final = rest[rest.length - 1];
    expect(final?.choices[0]?.finish_reason).toBe('stop');
    expect(annotationOf(final)).toMatchObject({ label: clinicalLabel, confidence: 0.65, citations: [{ document_id: 'DocumentReference/note-1' }, { document_id: 'doc-9' }] });
    // Only the first and the final chunk carry it.
    expect(out.chunks.filter((c) => annotationOf(c) !== undefined)).toHaveLength(2);
  });

  it('in JSON mode adds no text; a stream without a finishing chunk still ends with the annotation', async () => {
    const out = await collectStream(labelStream(stream(chunk('{"confidence":'), chunk('0.4}')), base, true));
    expect(out.content).toBe('{"confidence":0.4}');
    const last = out.chunks[out.chunks.length - 1];
    expect(last?.choices).toEqual([]);
    expect(annotationOf(last)).toMatchObject({ label: clinicalLabel, confidence: 0.4 });
    expect(annotationOf(out.chunks[0])).toMatchObject({ label: clinicalLabel });
  });

  it('labels every choice of n > 1 once, and not a first delta that opens with a tool call', async () => {
    const two: ChatDelta = { ...chunk('A'), choices: [{ index: 0, delta: { content: 'A' }, finish_reason: null }, { index: 1, delta: { content: 'B' }, finish_reason: null }] };
    const out = await collectStream(labelStream(stream(two, chunk(' more', 'stop')), base, false));
    expect(out.chunks[0]?.choices.map((c) => c.delta.content)).toEqual([`${clinicalLabel}\n\nA`, `${clinicalLabel}\n\nB`]);
    expect(out.chunks[1]?.choices[0]?.delta.content).toBe(' more');
    const tool = await collectStream(labelStream(stream(chunk(undefined, null, { tool_calls: [{ index: 0, id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }), chunk(undefined, 'tool_calls')), base, false));
    expect(tool.content).toBe('');
  });
});

describe('releasedResult', () => {
  const review = { id: 'rev-1', status: 'edited' as const, reviewed_by: 'u-rev', decided_at: 1_800_000_100 };

  it('releases the reviewer\'s text, labelled, without the model\'s confidence', () => {
    const released = releasedResult({ result: result('Model text. Confidence: 90%'), edited: 'Reviewer text.', labelled: true, jsonMode: false, citations: base.citations, confidence: 0.9, useCase: base.useCase, review });
    expect(released.choices).toHaveLength(1);
    expect(released.choices[0]?.message.content).toBe(`${clinicalLabel}\n\nReviewer text.`);
    expect(released.phigate).toMatchObject({ label: clinicalLabel, review });
    expect(released.phigate).not.toHaveProperty('confidence');
  });

  it('releases an approved answer as the model wrote it, with its stated confidence', () => {
    const released = releasedResult({ result: result('Model text. Confidence: 90%'), labelled: true, jsonMode: true, citations: [], confidence: 0.9, useCase: base.useCase, review: { ...review, status: 'approved' } });
    expect(released.choices[0]?.message.content).toBe('Model text. Confidence: 90%');
    expect(released.phigate).toMatchObject({ confidence: 0.9, citations: [], review: { status: 'approved' } });
  });
});
