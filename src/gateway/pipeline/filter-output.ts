// SPDX-License-Identifier: Apache-2.0
/**
 * Step 7 — filter output (src/output): before re-identification, every chat answer — plain or
 * streamed, OpenAI or Anthropic surface — is checked for identifiers that are not this
 * request's: not the patient's (`ctx.patientPhi`), not in the payload the model was given, not a
 * token of this conversation. Such a cross-patient leak is redacted, or the answer is blocked
 * when the use case (`output.blockOnLeak`) or the configuration says so; either way an incident
 * is opened and an `output.leak` audit event written before anything is released. Links and
 * images to hosts not in `output.allowedLinkHosts` are neutralised, and tool calls naming a tool
 * the request did not offer are removed (`output.tool_call_removed`).
 *
 * A blocked plain answer is refused with `output_blocked` (nothing of it is sent); a blocked
 * stream ends with `finish_reason: "content_filter"` after the parts already checked clean. The
 * request's closing audit record carries what the filter did (`outputFilter`, counts, the
 * incident id). If the incident or its audit event cannot be written, nothing is released.
 *
 * The step runs before re-identification on purpose: the model's answer is judged as the model
 * wrote it (tokens and all), and the values re-identification puts back are the caller's own.
 */
import type { KnownPhi } from '../../deid/types.js';
import { GatewayError } from '../../kernel/errors.js';
import { closingDetail, outputLeakEvent, toolCallRemovedEvent, type OutputAuditSubject } from '../../output/audit.js';
import { createOutputFilter, type OutputFilter } from '../../output/output-filter.js';
import { offeredTools, payloadTexts, type ResponseFilter } from '../../output/response-filter.js';
import { leakCount } from '../../output/text-filter.js';
import { createOutputIncidentRepo } from '../../store/repos/output-incident-repo.js';
import type { ChatContext, GatewayDeps, PipelineContext } from './context.js';

declare module './context.js' {
  interface GatewayDeps {
    /**
     * Where the output filter reads the request patient's identifiers when the context step left
     * `ctx.patientPhi` unset: deployments without FHIR context can plug in their own source
     * (an MPI lookup), and the tests and `bench/output` use it to supply the Synthea patients.
     * `ctx.patientPhi`, when set, always wins. Absent: only the payload is the request's own.
     */
    readonly patientPhiSource?: (patient: string) => Promise<KnownPhi | undefined> | KnownPhi | undefined;
  }
}

interface RequestOutputState {
  readonly answer: ResponseFilter;
  incidentId?: string;
}

const states = new WeakMap<object, RequestOutputState>();
const filters = new WeakMap<object, OutputFilter>();

/** The deployment's filter, built on first use from its configuration (the engine is shared). */
function outputFilterFor(deps: GatewayDeps): OutputFilter {
  let filter = filters.get(deps.config);
  if (!filter) {
    filter = createOutputFilter({ config: deps.config.output, language: deps.config.deid.language });
    filters.set(deps.config, filter);
  }
  return filter;
}

function subjectOf(ctx: ChatContext, streamed: boolean): OutputAuditSubject {
  const principal = ctx.principal;
  const target = ctx.servedBy ?? ctx.targets?.[0];
  return {
    now: ctx.deps.clock.now(),
    requestId: ctx.meta.requestId,
    instance: ctx.deps.instanceId,
    actor: principal && { userId: principal.userId, kind: principal.kind, roles: principal.roles, authMethod: principal.authMethod, apiKeyId: principal.apiKeyId },
    patientHash: ctx.headers?.patient === undefined ? undefined : ctx.deps.keyedHash(ctx.headers.patient, 'audit-patient'),
    purpose: ctx.headers?.purpose,
    useCase: ctx.headers?.useCase,
    endpointId: target?.endpoint.id,
    vendor: target?.endpoint.vendor,
    model: ctx.request?.model,
    form: ctx.form,
    streamed,
  };
}

/** Opens the incident and writes the filter's audit events; failures surface as audit_unavailable. */
async function record(ctx: ChatContext, state: RequestOutputState, streamed: boolean): Promise<void> {
  const { answer } = state;
  const tally = answer.tally;
  const leaks = leakCount(tally);
  if (leaks === 0 && tally.toolCallsRemoved === 0) return;
  const subject = subjectOf(ctx, streamed);
  const action = answer.action();
  try {
    if (leaks > 0 && state.incidentId === undefined) {
      const incident = await createOutputIncidentRepo(ctx.deps.store.db, { now: () => ctx.deps.clock.now() }).create({
        requestId: subject.requestId,
        action: action === 'blocked' ? 'blocked' : 'redacted',
        patientHash: subject.patientHash ?? null,
        useCase: subject.useCase ?? null,
        endpointId: subject.endpointId ?? null,
        userId: subject.actor?.userId ?? null,
        form: subject.form ?? null,
        streamed,
        leakCount: leaks,
        categories: { ...tally.leaks } as Record<string, number>,
        inLinks: tally.leaksInLinks,
      });
      state.incidentId = incident.id;
      await ctx.deps.audit.append(outputLeakEvent(subject, tally, action, incident.id));
    }
    if (tally.toolCallsRemoved > 0) await ctx.deps.audit.append(toolCallRemovedEvent(subject, tally, action));
  } catch (err) {
    ctx.deps.logger.error({ requestId: ctx.meta.requestId, err }, 'output incident could not be recorded; answer withheld');
    throw new GatewayError('audit_unavailable', { cause: err });
  }
}

export async function filterOutput(ctx: PipelineContext): Promise<void> {
  if (ctx.operation !== 'chat' || !ctx.request) return;
  const result = ctx.result;
  const config = ctx.deps.config.output;
  if (!config.enabled || (result?.kind !== 'chat' && result?.kind !== 'stream')) return;
  const patient = ctx.headers?.patient;
  const known = ctx.patientPhi ?? (patient === undefined ? undefined : await ctx.deps.patientPhiSource?.(patient));
  const filter = outputFilterFor(ctx.deps);
  const patientKey = patient === undefined ? undefined : ctx.deps.keyedHash(patient, 'audit-patient');
  // This patient's identifiers join the recently served set, so other patients' answers are checked against them.
  if (patientKey !== undefined && known !== undefined) filter.recent.register(patientKey, known);
  const answer = filter.forRequest({
    known,
    recent: (text) => filter.recent.find(text, patientKey),
    // The request's own patient reference is its own, whether or not the payload repeats it.
    payload: patient === undefined ? payloadTexts(ctx.request) : [...payloadTexts(ctx.request), patient],
    offeredTools: offeredTools(ctx.request),
    blockOnLeak: config.blockOnLeak || ctx.useCase?.spec.output.blockOnLeak === true,
  });
  const state: RequestOutputState = { answer };
  states.set(ctx, state);
  if (result.kind === 'chat') {
    const filtered = answer.filterResult(result.value);
    await record(ctx, state, false);
    if (filtered.blocked) {
      const detail: Record<string, string | number> = { leaks: leakCount(answer.tally), toolCallsRemoved: answer.tally.toolCallsRemoved };
      if (state.incidentId !== undefined) detail.incident = state.incidentId;
      throw new GatewayError('output_blocked', { detail });
    }
    ctx.result = { kind: 'chat', value: filtered.result };
    return;
  }
  ctx.result = { kind: 'stream', deltas: answer.filterStream(result.deltas, () => record(ctx, state, true)) };
}

/**
 * What the closing audit record says about the output filter: its action, counts and incident
 * id; `undefined` for requests it did not see (embeddings, local answers, refusals before it).
 */
export function outputFilterAuditDetail(ctx: PipelineContext): Record<string, string | number> | undefined {
  const state = states.get(ctx);
  return state && closingDetail(state.answer.tally, state.answer.action(), state.incidentId);
}
