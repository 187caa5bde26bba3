// SPDX-License-Identifier: Apache-2.0
/**
 * Canonical request and response types. They are OpenAI's Chat Completions and Embeddings
 * shapes, because that is what callers speak; every adapter translates them to its vendor's
 * wire format and back.
 */

export interface TextPart {
  readonly type: 'text';
  readonly text: string;
}
export interface ImagePart {
  readonly type: 'image_url';
  readonly image_url: { readonly url: string; readonly detail?: 'auto' | 'low' | 'high' | undefined };
}
export interface InputAudioPart {
  readonly type: 'input_audio';
  readonly input_audio: { readonly data: string; readonly format: 'wav' | 'mp3' };
}
export interface FilePart {
  readonly type: 'file';
  readonly file: { readonly file_data?: string | undefined; readonly file_id?: string | undefined; readonly filename?: string | undefined };
}
export type ContentPart = TextPart | ImagePart | InputAudioPart | FilePart;

export interface ToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

export type ChatMessage =
  | { readonly role: 'system' | 'developer'; readonly content: string | readonly TextPart[]; readonly name?: string | undefined }
  | { readonly role: 'user'; readonly content: string | readonly ContentPart[]; readonly name?: string | undefined }
  | {
      readonly role: 'assistant';
      readonly content?: string | readonly TextPart[] | null | undefined;
      readonly name?: string | undefined;
      readonly tool_calls?: readonly ToolCall[] | undefined;
      readonly refusal?: string | null | undefined;
    }
  | { readonly role: 'tool'; readonly content: string | readonly TextPart[]; readonly tool_call_id: string };

export interface ToolDefinition {
  readonly type: 'function';
  readonly function: {
    readonly name: string;
    readonly description?: string | undefined;
    readonly parameters?: Readonly<Record<string, unknown>> | undefined;
    readonly strict?: boolean | null | undefined;
  };
}

export type ToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { readonly type: 'function'; readonly function: { readonly name: string } };

export type ResponseFormat =
  | { readonly type: 'text' }
  | { readonly type: 'json_object' }
  | {
      readonly type: 'json_schema';
      readonly json_schema: {
        readonly name: string;
        readonly description?: string | undefined;
        readonly schema?: Readonly<Record<string, unknown>> | undefined;
        readonly strict?: boolean | null | undefined;
      };
    };

export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly ToolDefinition[] | undefined;
  readonly tool_choice?: ToolChoice | undefined;
  readonly parallel_tool_calls?: boolean | undefined;
  readonly response_format?: ResponseFormat | undefined;
  readonly max_tokens?: number | null | undefined;
  readonly max_completion_tokens?: number | null | undefined;
  readonly temperature?: number | null | undefined;
  readonly top_p?: number | null | undefined;
  readonly n?: number | null | undefined;
  readonly stop?: string | readonly string[] | null | undefined;
  readonly seed?: number | null | undefined;
  readonly presence_penalty?: number | null | undefined;
  readonly frequency_penalty?: number | null | undefined;
  readonly user?: string | undefined;
  readonly stream?: boolean | null | undefined;
  readonly stream_options?: { readonly include_usage?: boolean | undefined } | null | undefined;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

export interface AssistantMessage {
  readonly role: 'assistant';
  readonly content: string | null;
  readonly tool_calls?: readonly ToolCall[] | undefined;
  readonly refusal?: string | null | undefined;
}

export interface ChatResult {
  readonly id: string;
  readonly object: 'chat.completion';
  readonly created: number;
  readonly model: string;
  readonly choices: readonly {
    readonly index: number;
    readonly message: AssistantMessage;
    readonly finish_reason: FinishReason;
    readonly logprobs: null;
  }[];
  readonly usage?: Usage | undefined;
}

export interface ToolCallDelta {
  readonly index: number;
  readonly id?: string | undefined;
  readonly type?: 'function' | undefined;
  readonly function?: { readonly name?: string | undefined; readonly arguments?: string | undefined } | undefined;
}

export interface ChatDelta {
  readonly id: string;
  readonly object: 'chat.completion.chunk';
  readonly created: number;
  readonly model: string;
  readonly choices: readonly {
    readonly index: number;
    readonly delta: {
      readonly role?: 'assistant' | undefined;
      readonly content?: string | null | undefined;
      readonly tool_calls?: readonly ToolCallDelta[] | undefined;
      readonly refusal?: string | null | undefined;
    };
    readonly finish_reason: FinishReason | null;
    readonly logprobs?: null | undefined;
  }[];
  /** Present only on the final chunk when the caller asked for `stream_options.include_usage`. */
  readonly usage?: Usage | null | undefined;
}

export interface EmbedRequest {
  readonly model: string;
  readonly input: string | readonly string[];
  readonly encoding_format?: 'float' | 'base64' | undefined;
  readonly dimensions?: number | undefined;
  readonly user?: string | undefined;
}

export interface EmbedResult {
  readonly object: 'list';
  readonly data: readonly { readonly object: 'embedding'; readonly index: number; readonly embedding: readonly number[] }[];
  readonly model: string;
  readonly usage: { readonly prompt_tokens: number; readonly total_tokens: number };
}
