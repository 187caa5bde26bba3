// SPDX-License-Identifier: Apache-2.0
/**
 * Step 3½ — screen for prompt injection, right after gather context, before protect (so it reads
 * what the caller and the retrieval actually supplied, before de-identification changes it).
 *
 * Channels (screening/rules.ts):
 * - `direct`: the user's own words — every user message, outside any pasted block.
 * - `indirect`: third-party content — tool results, the retrieved notes and FHIR context the
 *   gather-context step rendered into its system message (each chunk on its own), and content the
 *   user clearly pasted (fenced, quoted, tagged, forwarded; screening/pasted.ts).
 *
 * System and developer messages written by the application are not screened, nor is the use
 * case's own prompt template. Actions per channel come from `screening` in the configuration:
 * `block` refuses with `prompt_injection_detected`; `drop` withholds the flagged piece (a
 * retrieved chunk leaves the context and the citations, a tool result or pasted block is replaced
 * by a fixed notice); `flag` only records. Every detection is audited (`screening.injection`)
 * with scores, channels, sources and rule ids — never text.
 */
import { breakGlassAuditFields, requestAccessOf } from '../../access/request-state.js';
import type { PhigateConfig } from '../../config/schema.js';
import { GatewayError } from '../../kernel/errors.js';
import type { ChatMessage, ContentPart, TextPart } from '../../providers/types.js';
import { screeningAuditEvent, type ScreeningFinding } from '../../screening/audit.js';
import { pastedSpans, replaceSpans, textOutside, type TextSpan } from '../../screening/pasted.js';
import type { ScreeningChannel } from '../../screening/rules.js';
import { createInjectionScreener, type InjectionScreener } from '../../screening/screener.js';
import type { Citation, PipelineContext } from './context.js';

declare module './context.js' {
  interface GatewayDeps {
    /** The injection screen to use instead of one built from `config.screening` (tests, custom models). */
    readonly injectionScreener?: InjectionScreener;
  }
}

/** What replaces a withheld piece of third-party content, so the model sees that something was removed. */
export const withheldNotice = '[withheld by phigate: this content was flagged as a possible prompt injection]';

const screeners = new WeakMap<PhigateConfig['screening'], InjectionScreener>();

function screenerFor(ctx: PipelineContext): InjectionScreener {
  if (ctx.deps.injectionScreener) return ctx.deps.injectionScreener;
  const config = ctx.deps.config.screening;
  let screener = screeners.get(config);
  if (!screener) {
    screener = createInjectionScreener({
      channels: {
        direct: { threshold: config.direct.threshold, classifierWeight: config.direct.classifierWeight },
        indirect: { threshold: config.indirect.threshold, classifierWeight: config.indirect.classifierWeight },
      },
    });
    screeners.set(config, screener);
  }
  return screener;
}

interface Session {
  readonly screener: InjectionScreener;
  readonly config: PhigateConfig['screening'];
  readonly findings: ScreeningFinding[];
  readonly screened: Record<ScreeningChannel, number>;
}

/** Screens one piece; returns true when it must be withheld (the channel's action is `drop`). */
function check(session: Session, text: string, channel: ScreeningChannel, source: string): boolean {
  if (text.trim() === '') return false;
  session.screened[channel] += 1;
  const verdict = session.screener.screen(text, channel);
  if (!verdict.detected) return false;
  const action = channel === 'direct' ? session.config.direct.action : session.config.indirect.action;
  const outcome = action === 'block' ? 'blocked' : action === 'drop' ? 'dropped' : 'flagged';
  session.findings.push({ channel, source, outcome, score: verdict.score, ruleIds: verdict.ruleIds });
  return outcome === 'dropped';
}

/** A user's text: pasted blocks screened as third-party content, the rest as the user's own words. */
function screenUserText(session: Session, text: string): string {
  const spans = session.config.pastedContent ? pastedSpans(text) : [];
  const withheld: TextSpan[] = [];
  for (const span of spans) if (check(session, text.slice(span.start, span.end), 'indirect', 'pasted')) withheld.push(span);
  check(session, spans.length === 0 ? text : textOutside(text, spans), 'direct', 'user');
  return withheld.length === 0 ? text : replaceSpans(text, withheld, withheldNotice);
}

function screenUser(session: Session, content: string | readonly ContentPart[]): string | readonly ContentPart[] {
  if (typeof content === 'string') return screenUserText(session, content);
  return content.map((part) => (part.type === 'text' ? { type: 'text', text: screenUserText(session, part.text) } : part));
}

function screenTool(session: Session, content: string | readonly TextPart[]): string | readonly TextPart[] {
  if (typeof content === 'string') return check(session, content, 'indirect', 'tool') ? withheldNotice : content;
  return content.map((part) => (check(session, part.text, 'indirect', 'tool') ? { type: 'text', text: withheldNotice } : part));
}

const notesHeader = 'Notes (retrieved excerpts, best first):';
const fhirHeader = 'Patient record (FHIR):';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface ContextPiece extends TextSpan {
  readonly source: 'retrieved' | 'fhir_context';
  /** Index into the citations, for a retrieved chunk. */
  readonly citation?: number;
}

/**
 * Where the rendered context (fhir/render.ts) puts each retrieved chunk and the FHIR block inside
 * the inserted system message: chunks follow `[n] label` lines in citation order. Undefined when
 * the message does not have that shape.
 */
function locateContext(system: string, citations: readonly Citation[]): ContextPiece[] | undefined {
  const pieces: ContextPiece[] = [];
  const notesAt = system.indexOf(notesHeader);
  const fhirAt = system.indexOf(fhirHeader);
  if (fhirAt !== -1) pieces.push({ source: 'fhir_context', start: fhirAt + fhirHeader.length, end: notesAt > fhirAt ? notesAt : system.length });
  if (citations.length === 0) return pieces;
  if (notesAt === -1) return undefined;
  const starts: { header: number; text: number }[] = [];
  let from = notesAt + notesHeader.length;
  for (let i = 0; i < citations.length; i++) {
    const label = citations[i]?.label;
    const header = new RegExp(`\\n\\[${i + 1}\\]${label === undefined ? '' : ` ${escapeRegExp(label)}`}\\n`, 'g');
    header.lastIndex = from;
    const found = header.exec(system);
    if (!found) return undefined;
    starts.push({ header: found.index, text: found.index + found[0].length });
    from = found.index + found[0].length;
  }
  starts.forEach((s, i) => {
    // A chunk runs to the next chunk's header, or to the end of the context block (a blank line or the message's end).
    const next = starts[i + 1]?.header;
    const blockEnd = system.indexOf('\n\n', s.text);
    const end = next ?? (blockEnd === -1 ? system.length : blockEnd);
    pieces.push({ source: 'retrieved', citation: i, start: s.text, end });
  });
  return pieces;
}

/** The gather-context system message, screened piece by piece; flagged pieces withheld when the action is `drop`. */
function screenGatheredContext(session: Session, system: string, citations: readonly Citation[]): { system: string; citations: readonly Citation[] } {
  const pieces = locateContext(system, citations);
  if (!pieces) {
    // An unknown layout cannot be cut apart: screen it whole, and withhold it whole.
    return check(session, system, 'indirect', 'context') ? { system: withheldNotice, citations: [] } : { system, citations };
  }
  const withheld: ContextPiece[] = [];
  for (const piece of pieces) if (check(session, system.slice(piece.start, piece.end), 'indirect', piece.source)) withheld.push(piece);
  if (withheld.length === 0) return { system, citations };
  const dropped = new Set(withheld.flatMap((p) => (p.citation === undefined ? [] : [p.citation])));
  return { system: replaceSpans(system, withheld, `\n${withheldNotice}`), citations: citations.filter((_, i) => !dropped.has(i)) };
}

async function recordFindings(ctx: PipelineContext, session: Session): Promise<void> {
  const { deps, principal, headers } = ctx;
  try {
    await deps.audit.append(
      screeningAuditEvent({
        now: deps.clock.now(),
        requestId: ctx.meta.requestId,
        instance: deps.instanceId,
        actor: principal && { userId: principal.userId, kind: principal.kind, roles: principal.roles, authMethod: principal.authMethod, apiKeyId: principal.apiKeyId },
        patientHash: headers?.patient === undefined ? undefined : deps.keyedHash(headers.patient, 'audit-patient'),
        purpose: headers?.purpose,
        useCase: headers?.useCase,
        model: ctx.request?.model,
        accessBasis: requestAccessOf(ctx)?.basis,
        breakGlass: breakGlassAuditFields(ctx),
        screened: session.screened,
        findings: session.findings,
      }),
    );
  } catch (err) {
    throw new GatewayError('audit_unavailable', { cause: err });
  }
}

export async function screen(ctx: PipelineContext): Promise<void> {
  const config = ctx.deps.config.screening;
  if (!config.enabled || ctx.operation !== 'chat' || !ctx.request) return;
  const session: Session = { screener: screenerFor(ctx), config, findings: [], screened: { direct: 0, indirect: 0 } };
  const request = ctx.request;
  let citations = ctx.citations;
  const messages: ChatMessage[] = request.messages.map((message, index) => {
    // gather context sets citations exactly when it prepended its system message.
    if (index === 0 && citations !== undefined && message.role === 'system' && typeof message.content === 'string') {
      const screened = screenGatheredContext(session, message.content, citations);
      citations = screened.citations;
      return screened.system === message.content ? message : { ...message, content: screened.system };
    }
    switch (message.role) {
      case 'user': {
        const content = screenUser(session, message.content);
        return content === message.content ? message : { ...message, content };
      }
      case 'tool': {
        const content = screenTool(session, message.content);
        return content === message.content ? message : { ...message, content };
      }
      case 'system':
      case 'developer':
      case 'assistant':
        return message;
    }
  });
  if (session.findings.length === 0) return;
  await recordFindings(ctx, session);
  const blocked = session.findings.find((f) => f.outcome === 'blocked');
  if (blocked) throw new GatewayError('prompt_injection_detected', { detail: { channel: blocked.channel } });
  ctx.request = { ...request, messages };
  if (citations !== undefined) ctx.citations = citations;
}
