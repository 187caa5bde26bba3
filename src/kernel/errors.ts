// SPDX-License-Identifier: Apache-2.0
/**
 * The one error registry. Every refusal phigate gives has a stable snake_case code, an HTTP
 * status, an OpenAI error `type` and a fixed message. Messages never carry request data:
 * variable facts go in `detail`, whose values are restricted to PHI-free primitives chosen by
 * the code that throws (ids, counts, field paths, limits).
 */

export interface ErrorSpec {
  readonly status: number;
  readonly type:
    | 'invalid_request_error'
    | 'authentication_error'
    | 'permission_error'
    | 'not_found_error'
    | 'rate_limit_error'
    | 'server_error';
  readonly message: string;
}

export const errors = {
  invalid_request: { status: 400, type: 'invalid_request_error', message: 'The request body does not match the API schema' },
  invalid_json: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid JSON' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', message: 'Send the request body as application/json' },
  request_too_large: { status: 413, type: 'invalid_request_error', message: 'The request body exceeds the configured size limit' },
  request_timeout: { status: 408, type: 'invalid_request_error', message: 'The request took longer than the configured time limit' },
  invalid_header: { status: 400, type: 'invalid_request_error', message: 'A phigate request header is malformed' },
  unauthenticated: { status: 401, type: 'authentication_error', message: 'Missing or invalid credentials' },
  api_key_expired: { status: 401, type: 'authentication_error', message: 'The API key has expired' },
  api_key_revoked: { status: 401, type: 'authentication_error', message: 'The API key has been revoked' },
  token_expired: { status: 401, type: 'authentication_error', message: 'The bearer token has expired' },
  token_invalid: { status: 401, type: 'authentication_error', message: 'The bearer token is malformed or its signature does not verify' },
  token_revoked: { status: 401, type: 'authentication_error', message: 'The bearer token was revoked or its user is disabled' },
  session_expired: { status: 401, type: 'authentication_error', message: 'The console session has expired; sign in again' },
  csrf_rejected: { status: 403, type: 'permission_error', message: 'The request failed the cross-site request check' },
  login_throttled: { status: 429, type: 'rate_limit_error', message: 'Too many failed sign-in attempts; retry after the time in the retry-after header' },
  mfa_enrollment_required: { status: 403, type: 'permission_error', message: 'This account needs a TOTP second factor before it can sign in' },
  on_behalf_of_required: { status: 403, type: 'permission_error', message: 'A service account must act on behalf of a user for requests that touch patient data' },
  on_behalf_of_denied: { status: 403, type: 'permission_error', message: 'The service account may not act on behalf of that user' },
  permission_denied: { status: 403, type: 'permission_error', message: 'The caller lacks the permission this action needs' },
  patient_access_denied: { status: 403, type: 'permission_error', message: 'The caller has no active care relationship with this patient' },
  purpose_required: { status: 400, type: 'invalid_request_error', message: 'A purpose of use (x-phigate-purpose) is required for requests that name a patient' },
  purpose_not_allowed: { status: 403, type: 'permission_error', message: 'This purpose of use is not allowed for the use case' },
  use_case_required: { status: 400, type: 'invalid_request_error', message: 'A use case (x-phigate-use-case) is required for this request' },
  use_case_not_found: { status: 404, type: 'not_found_error', message: 'The use case does not exist' },
  use_case_not_approved: { status: 403, type: 'permission_error', message: 'The use case is not approved and live' },
  use_case_exists: { status: 409, type: 'invalid_request_error', message: 'A use case with this id is already in the registry' },
  use_case_version_conflict: { status: 409, type: 'invalid_request_error', message: 'The use case changed since it was read; reload it and retry' },
  use_case_version_not_found: { status: 404, type: 'not_found_error', message: 'The use case has no version with this number' },
  use_case_invalid_transition: { status: 409, type: 'invalid_request_error', message: 'The use case or version is not in a state that allows this action' },
  use_case_approval_refused: { status: 403, type: 'permission_error', message: 'This decision does not satisfy the governance committee rules' },
  use_case_go_live_blocked: { status: 422, type: 'invalid_request_error', message: 'The use case lacks what its classification requires before it can go live' },
  registry_import_invalid: { status: 422, type: 'invalid_request_error', message: 'The registry file is not valid; nothing was imported' },
  registry_import_widening: { status: 403, type: 'permission_error', message: 'The import widens PHI access without the approvals it needs; nothing was imported' },
  model_not_found: { status: 404, type: 'not_found_error', message: 'The model does not exist or the caller may not use it' },
  route_not_found: { status: 404, type: 'not_found_error', message: 'No such route' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', message: 'This route does not accept that HTTP method' },
  phi_egress_denied: { status: 403, type: 'permission_error', message: 'This payload may not be sent to the selected endpoint' },
  no_baa_covered_endpoint: { status: 422, type: 'invalid_request_error', message: 'No BAA-covered or self-hosted endpoint is approved for this request' },
  output_blocked: { status: 422, type: 'invalid_request_error', message: 'The answer was withheld: it named another patient or asked for a tool the request did not offer; an incident was recorded' },
  prompt_injection_detected: { status: 400, type: 'invalid_request_error', message: 'The request was refused because it looks like a prompt injection' },
  no_self_hosted_endpoint: { status: 422, type: 'invalid_request_error', message: 'This use case runs on self-hosted endpoints only, and none serves the model' },
  baa_not_in_force: { status: 403, type: 'permission_error', message: 'The vendor BAA for this endpoint is not in force (expired, terminated or not yet effective)' },
  vendor_not_allowed_for_use_case: { status: 403, type: 'permission_error', message: 'No endpoint of a vendor this use case allows serves the model' },
  model_not_allowed_for_use_case: { status: 403, type: 'permission_error', message: 'The model, or its upstream version, is not approved for this use case' },
  sensitive_category_not_allowed: { status: 403, type: 'permission_error', message: 'The payload carries a sensitive category (42 CFR Part 2, psychotherapy notes, genetic, HIV) the use case does not allow' },
  sensitive_data_requires_self_hosted: { status: 403, type: 'permission_error', message: 'Sensitive data (42 CFR Part 2, psychotherapy notes, genetic, HIV) may go only to a self-hosted endpoint, and none serves the model' },
  vendor_not_found: { status: 404, type: 'not_found_error', message: 'The vendor does not exist in the registry' },
  vendor_exists: { status: 409, type: 'invalid_request_error', message: 'A vendor with this id is already in the registry' },
  vendor_version_conflict: { status: 409, type: 'invalid_request_error', message: 'The vendor record changed since it was read; reload it and retry' },
  vendor_service_unknown: { status: 422, type: 'invalid_request_error', message: 'The record names a service this vendor does not offer' },
  vendor_service_not_eligible: { status: 422, type: 'invalid_request_error', message: 'A BAA can cover only services the vendor offers a BAA for' },
  baa_dates_invalid: { status: 422, type: 'invalid_request_error', message: 'The BAA dates are impossible (expiry before the effective date, or already past)' },
  baa_not_signed: { status: 409, type: 'invalid_request_error', message: 'The vendor has no signed BAA to amend or terminate' },
  review_not_found: { status: 404, type: 'not_found_error', message: 'The review item does not exist or the caller may not see it' },
  review_not_claimable: { status: 409, type: 'invalid_request_error', message: 'Another reviewer holds the claim on this review item' },
  review_claim_required: { status: 409, type: 'invalid_request_error', message: 'Claim the review item before deciding it' },
  review_lease_expired: { status: 409, type: 'invalid_request_error', message: 'The claim on this review item has expired; claim it again' },
  review_version_conflict: { status: 409, type: 'invalid_request_error', message: 'The review item changed since it was read; reload it and retry' },
  review_already_decided: { status: 409, type: 'invalid_request_error', message: 'The review item has already been decided' },
  review_not_decided: { status: 409, type: 'invalid_request_error', message: 'The review item has not been decided yet' },
  review_self_decision: { status: 403, type: 'permission_error', message: 'A reviewer may not review an answer they requested' },
  rate_limited: { status: 429, type: 'rate_limit_error', message: 'Rate limit reached; retry after the time in the retry-after header' },
  provider_timeout: { status: 504, type: 'server_error', message: 'The model provider did not answer in time' },
  provider_unavailable: { status: 502, type: 'server_error', message: 'The model provider failed or could not be reached' },
  provider_rate_limited: { status: 429, type: 'rate_limit_error', message: 'The model provider is rate limiting requests' },
  provider_bad_response: { status: 502, type: 'server_error', message: 'The model provider returned a response phigate could not read' },
  provider_rejected: { status: 400, type: 'invalid_request_error', message: 'The model provider rejected the request' },
  fhir_unavailable: { status: 502, type: 'server_error', message: 'The EHR FHIR server failed, refused phigate or could not be reached; nothing was sent to a model' },
  fhir_timeout: { status: 504, type: 'server_error', message: 'The EHR FHIR server did not answer in time; nothing was sent to a model' },
  fhir_bad_response: { status: 502, type: 'server_error', message: 'The EHR FHIR server returned a response phigate could not accept; nothing was sent to a model' },
  fhir_patient_not_found: { status: 404, type: 'not_found_error', message: 'The patient does not exist on the EHR FHIR server' },
  fhir_scope_invalid: { status: 500, type: 'server_error', message: 'The use case names a FHIR search parameter that phigate controls; an administrator must correct the use case' },
  context_too_large: { status: 422, type: 'invalid_request_error', message: 'The patient context exceeds the configured size limit; nothing was sent to a model' },
  context_unavailable: { status: 503, type: 'server_error', message: 'A context source this use case needs (FHIR server or document index) is not configured' },
  retrieval_failed: { status: 502, type: 'server_error', message: 'Document retrieval failed; nothing was sent to a model' },
  document_too_large: { status: 413, type: 'invalid_request_error', message: 'The document exceeds the configured size limit; nothing was stored' },
  document_invalid: { status: 400, type: 'invalid_request_error', message: 'The document is not a usable text note or FHIR DocumentReference; nothing was stored' },
  document_not_found: { status: 404, type: 'not_found_error', message: 'The document does not exist' },
  documents_not_allowed: { status: 403, type: 'permission_error', message: 'The use case does not allow document retrieval' },
  audit_unavailable: { status: 503, type: 'server_error', message: 'The audit log cannot be written, so nothing was forwarded' },
  registry_unavailable: { status: 503, type: 'server_error', message: 'The registry of vendors, BAAs and use cases could not be read in time, so nothing was forwarded' },
  client_disconnected: { status: 499, type: 'invalid_request_error', message: 'The client closed the connection before the answer was complete' },
  not_ready: { status: 503, type: 'server_error', message: 'phigate is starting or shutting down' },
  internal_error: { status: 500, type: 'server_error', message: 'An unexpected error occurred; the request id identifies it in the logs' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errors;

/** Values allowed in an error's detail: identifiers, counts, paths and limits chosen by phigate code. */
export type SafeDetail = Readonly<Record<string, string | number | boolean | readonly (string | number)[]>>;

/** The error every refusal is thrown as. `cause` is for operational logs and never rendered. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly detail: SafeDetail | undefined;
  readonly param: string | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    code: ErrorCode,
    options: { cause?: unknown; detail?: SafeDetail; param?: string; headers?: Record<string, string> } = {},
  ) {
    super(errors[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.detail = options.detail;
    this.param = options.param;
    this.headers = options.headers;
  }

  get status(): number {
    return errors[this.code].status;
  }
}

/** OpenAI's error body, with our registry code in `code`. */
export interface ErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: ErrorSpec['type'];
    readonly param: string | null;
    readonly code: ErrorCode;
    readonly detail?: SafeDetail;
  };
}

/** Renders an error for the wire; anything that is not a GatewayError becomes `internal_error`. */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody } {
  const gatewayError = err instanceof GatewayError ? err : new GatewayError('internal_error');
  const spec = errors[gatewayError.code];
  return {
    status: spec.status,
    body: {
      error: {
        message: spec.message,
        type: spec.type,
        param: gatewayError.param ?? null,
        code: gatewayError.code,
        ...(gatewayError.detail ? { detail: gatewayError.detail } : {}),
      },
    },
  };
}

export function isGatewayError(err: unknown, code?: ErrorCode): err is GatewayError {
  return err instanceof GatewayError && (code === undefined || err.code === code);
}
