// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { canonicalRequest, signRequest } from './sigv4.js';

// The AWS SigV4 test suite's published credentials and date.
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const date = new Date('2015-08-30T12:36:00Z');

describe('SigV4', () => {
  it('matches the AWS test suite vector get-vanilla', () => {
    const headers = signRequest({ method: 'GET', host: 'example.amazonaws.com', path: '/', query: '', headers: {}, body: '', region: 'us-east-1', service: 'service', credentials, date });
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
  });

  it('sorts query parameters and double-encodes path segments for non-S3 services', () => {
    const { request } = canonicalRequest('POST', '/model/anthropic.claude-v2%3A1/converse', 'b=2&a=1 2', { Host: 'h', 'Content-Type': ' application/json ' }, '{}');
    const lines = request.split('\n');
    expect(lines[1]).toBe('/model/anthropic.claude-v2%253A1/converse');
    expect(lines[2]).toBe('a=1%202&b=2');
    expect(lines[3]).toBe('content-type:application/json');
    expect(lines[4]).toBe('host:h');
  });

  it('signs the session token', () => {
    const headers = signRequest({ method: 'POST', host: 'h', path: '/', query: '', headers: {}, body: '', region: 'us-east-1', service: 'bedrock', credentials: { ...credentials, sessionToken: 'tok' }, date });
    expect(headers['x-amz-security-token']).toBe('tok');
    expect(headers.authorization).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token');
  });
});
