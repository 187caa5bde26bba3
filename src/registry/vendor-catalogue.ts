// SPDX-License-Identifier: Apache-2.0
/**
 * The shipped vendor catalogue: the AI, transcription, voice, messaging, vector-database and
 * monitoring vendors healthcare deployers most often ask about, one entry per legal entity, with
 * each service's HIPAA eligibility as the vendor publishes it.
 *
 * Every entry starts with its BAA `not_signed`: a catalogue entry says a BAA can be had, never
 * that one was. PHI reaches a service only after the deployer records their own signed BAA
 * (registry/vendors.ts). Eligibility changes with vendors' terms; the notes say what the
 * reviewer must check before signing, and deployers can add vendors of their own.
 *
 * `ensureCatalogue` runs at start (gateway and CLI): it inserts entries that are missing and
 * never touches a record that exists, so a deployer's recorded BAA is never overwritten.
 */
import type { VendorRepo } from '../store/repos/vendor-repo.js';
import { vendorSchema, type Vendor } from './vendor-spec.js';

const verify = 'Confirm the service is on the vendor\'s current HIPAA-eligible list before signing.';

/** The catalogue as zod input (defaults filled by {@link catalogueVendors}). */
const entries: readonly Record<string, unknown>[] = [
  {
    id: 'microsoft',
    legalName: 'Microsoft Corporation',
    services: [
      {
        id: 'azure-openai',
        name: 'Azure OpenAI in Azure AI Foundry',
        category: 'llm',
        eligibility: 'baa_available',
        notes: `Covered by the HIPAA BAA in Microsoft's Product Terms (Data Protection Addendum) for in-scope Azure services. Turn off abuse-monitoring content logging where approved to get no retention. ${verify}`,
      },
    ],
  },
  {
    id: 'google',
    legalName: 'Google LLC',
    services: [
      {
        id: 'vertex-ai',
        name: 'Vertex AI (Gemini and partner models on Google Cloud)',
        category: 'llm',
        eligibility: 'baa_available',
        notes: `Google Cloud BAA, for the products on Google Cloud's HIPAA-covered list only; the consumer Gemini app is not covered. ${verify}`,
      },
      {
        id: 'cloud-healthcare-api',
        name: 'Cloud Healthcare API (FHIR, HL7v2, DICOM stores)',
        category: 'healthcare_api',
        eligibility: 'baa_available',
        notes: `Google Cloud BAA. ${verify}`,
      },
      {
        id: 'speech-to-text',
        name: 'Cloud Speech-to-Text',
        category: 'transcription',
        eligibility: 'baa_available',
        notes: `Google Cloud BAA; data logging must stay off. ${verify}`,
      },
    ],
  },
  {
    id: 'amazon',
    legalName: 'Amazon Web Services, Inc.',
    services: [
      {
        id: 'bedrock',
        name: 'Amazon Bedrock',
        category: 'llm',
        eligibility: 'baa_available',
        notes: `HIPAA-eligible service under the AWS BAA (accepted in AWS Artifact), only in accounts the BAA designates. Model invocation logging must not go to unprotected destinations. ${verify}`,
      },
    ],
  },
  {
    id: 'anthropic',
    legalName: 'Anthropic, PBC',
    services: [
      {
        id: 'api-enterprise',
        name: 'Anthropic API (commercial / enterprise terms)',
        category: 'llm',
        eligibility: 'baa_available',
        notes: `BAA on request for API use under commercial terms, typically with zero data retention; features outside the BAA's scope are not covered. ${verify}`,
      },
      {
        id: 'claude-consumer',
        name: 'Claude apps (Free, Pro, Max)',
        category: 'consumer_app',
        eligibility: 'never',
        notes: 'Consumer product: never eligible for PHI.',
      },
    ],
  },
  {
    id: 'openai',
    legalName: 'OpenAI OpCo, LLC',
    services: [
      {
        id: 'api-enterprise',
        name: 'OpenAI API (enterprise terms)',
        category: 'llm',
        eligibility: 'baa_available',
        notes: `BAA on request for API use, limited to eligible endpoints, normally with zero data retention. ${verify}`,
      },
      {
        id: 'chatgpt-consumer',
        name: 'ChatGPT (Free, Plus, Pro)',
        category: 'consumer_app',
        eligibility: 'never',
        notes: 'Consumer product: never eligible for PHI.',
      },
    ],
  },
  {
    id: 'deepgram',
    legalName: 'Deepgram, Inc.',
    services: [
      {
        id: 'speech-to-text',
        name: 'Deepgram speech-to-text (enterprise)',
        category: 'transcription',
        eligibility: 'baa_available',
        notes: `BAA on enterprise plans only. ${verify}`,
      },
    ],
  },
  {
    id: 'assemblyai',
    legalName: 'AssemblyAI, Inc.',
    services: [
      {
        id: 'speech-to-text',
        name: 'AssemblyAI speech-to-text',
        category: 'transcription',
        eligibility: 'none',
        notes: 'No BAA recorded as offered; send de-identified audio transcripts only. Re-check if the vendor starts offering one.',
      },
    ],
  },
  {
    id: 'retell',
    legalName: 'Retell AI, Inc.',
    services: [
      {
        id: 'voice-agents',
        name: 'Retell AI voice agents',
        category: 'voice',
        eligibility: 'baa_available',
        notes: `BAA offered for HIPAA workloads. The telephony carrier and the model vendors it calls are subprocessors: record them. ${verify}`,
      },
    ],
  },
  {
    id: 'vapi',
    legalName: 'Vapi, Inc.',
    services: [
      {
        id: 'voice-agents',
        name: 'Vapi voice agents',
        category: 'voice',
        eligibility: 'none',
        notes: 'No BAA recorded as offered; no PHI. Re-check if the vendor starts offering one.',
      },
    ],
  },
  {
    id: 'twilio',
    legalName: 'Twilio Inc.',
    services: [
      {
        id: 'messaging',
        name: 'Twilio Programmable Messaging',
        category: 'messaging',
        eligibility: 'baa_available',
        notes: `Covered only as one of Twilio's HIPAA-eligible products, in an account configured for HIPAA under Twilio's BAA; the same product in any other account is not covered. ${verify}`,
      },
      {
        id: 'voice',
        name: 'Twilio Programmable Voice',
        category: 'voice',
        eligibility: 'baa_available',
        notes: `Covered only as one of Twilio's HIPAA-eligible products, in an account configured for HIPAA under Twilio's BAA; recordings and transcription features need their own check. ${verify}`,
      },
    ],
  },
  {
    id: 'pinecone',
    legalName: 'Pinecone Systems, Inc.',
    services: [
      {
        id: 'vector-database',
        name: 'Pinecone (enterprise tier)',
        category: 'vector_database',
        eligibility: 'baa_available',
        notes: `BAA on the enterprise tier only; embeddings of clinical text are PHI. ${verify}`,
      },
    ],
  },
  {
    id: 'weaviate',
    legalName: 'Weaviate B.V.',
    services: [
      {
        id: 'weaviate-cloud',
        name: 'Weaviate Cloud (dedicated / enterprise)',
        category: 'vector_database',
        eligibility: 'baa_available',
        notes: `BAA for HIPAA-enabled dedicated deployments; shared sandboxes are not covered. ${verify}`,
      },
    ],
  },
  {
    id: 'datadog',
    legalName: 'Datadog, Inc.',
    services: [
      {
        id: 'observability',
        name: 'Datadog (enterprise, HIPAA-enabled organisation)',
        category: 'monitoring',
        eligibility: 'baa_available',
        notes: `BAA for HIPAA-enabled organisations on enterprise plans, for the products the BAA lists. phigate sends no PHI to monitoring either way. ${verify}`,
      },
    ],
  },
  {
    id: 'splunk',
    legalName: 'Splunk LLC',
    services: [
      {
        id: 'splunk-cloud',
        name: 'Splunk Cloud Platform (HIPAA-enabled stack)',
        category: 'monitoring',
        eligibility: 'baa_available',
        notes: `BAA for Splunk Cloud stacks provisioned for HIPAA on enterprise terms. ${verify}`,
      },
    ],
  },
  {
    id: 'new-relic',
    legalName: 'New Relic, Inc.',
    services: [
      {
        id: 'observability',
        name: 'New Relic (enterprise, HIPAA-enabled account)',
        category: 'monitoring',
        eligibility: 'baa_available',
        notes: `BAA for HIPAA-enabled accounts on the enterprise tier (Data Plus). ${verify}`,
      },
    ],
  },
];

/** The shipped entries, parsed: `catalogue: true`, BAA `not_signed`, no subprocessors recorded. */
export const catalogueVendors: readonly Vendor[] = Object.freeze(
  entries.map((entry) => vendorSchema.parse({ ...entry, catalogue: true, baa: { status: 'not_signed' }, subprocessors: [] })),
);

/** The catalogue entry with this id, if there is one. */
export function catalogueVendor(id: string): Vendor | undefined {
  return catalogueVendors.find((vendor) => vendor.id === id);
}

/**
 * Inserts every catalogue entry the registry does not hold yet; an existing record (the
 * deployer's BAA, a custom vendor under the same id) is never changed. Safe to run from several
 * instances at once. Returns the ids inserted, in catalogue order.
 */
export async function ensureCatalogue(repo: Pick<VendorRepo, 'insertIfMissing'>): Promise<readonly string[]> {
  const inserted: string[] = [];
  for (const vendor of catalogueVendors) if (await repo.insertIfMissing(vendor)) inserted.push(vendor.id);
  return inserted;
}
