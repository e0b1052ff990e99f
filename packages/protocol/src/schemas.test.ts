import { describe, expect, it } from 'vitest';
import { CreateProjectBody, PROJECT_DEFAULTS } from './http';
import { ChallengeRequest, LoginRequest, UpdateEnvelope } from './socket-events';

const hash = 'a'.repeat(64);
const envelope = {
	roundId: 'r1',
	modelVersion: 0,
	numSamples: 100,
	steps: 10,
	trainLoss: 0.5,
	trainAccuracy: 0.9,
	trainMs: 1200,
	payloadSha256: hash,
	signature: 'AAAA',
	payload: new Uint8Array(20)
};

describe('protocol schemas', () => {
	it('accepts a well-formed update envelope and normalises ArrayBuffer payloads', () => {
		const parsed = UpdateEnvelope.parse({ ...envelope, payload: new ArrayBuffer(8) });
		expect(parsed.payload).toBeInstanceOf(Uint8Array);
		expect(parsed.payload.byteLength).toBe(8);
	});

	it.each([
		['missing payload', { ...envelope, payload: undefined }],
		['string payload', { ...envelope, payload: 'AAAA' }],
		['NaN loss', { ...envelope, trainLoss: NaN }],
		['zero samples', { ...envelope, numSamples: 0 }],
		['fractional steps', { ...envelope, steps: 1.5 }],
		['uppercase hash', { ...envelope, payloadSha256: 'A'.repeat(64) }],
		['short hash', { ...envelope, payloadSha256: 'abc' }],
		['accuracy above 1', { ...envelope, trainAccuracy: 1.5 }],
		['id with slash', { ...envelope, roundId: '../x' }],
		['not an object', 42]
	])('rejects an update envelope with %s', (_why, input) => {
		expect(UpdateEnvelope.safeParse(input).success).toBe(false);
	});

	it('rejects bad identity messages', () => {
		expect(ChallengeRequest.safeParse({ projectId: 'p', publicKey: 'not base64!', kind: 'browser' }).success).toBe(false);
		expect(ChallengeRequest.safeParse({ projectId: 'p', publicKey: 'AAAA', kind: 'phone' }).success).toBe(false);
		expect(LoginRequest.safeParse({ deviceId: 'd', nonce: 'short', signature: 'AAAA' }).success).toBe(false);
	});

	it('fills project defaults and rejects unknown or invalid fields', () => {
		expect(CreateProjectBody.parse({ name: 'demo', rounds: 3 })).toEqual({ ...PROJECT_DEFAULTS, name: 'demo', rounds: 3 });
		expect(CreateProjectBody.safeParse({ name: '' }).success).toBe(false);
		expect(CreateProjectBody.safeParse({ name: 'x', model: 'resnet' }).success).toBe(false);
		expect(CreateProjectBody.safeParse({ name: 'x', learningRate: -1 }).success).toBe(false);
		expect(CreateProjectBody.safeParse({ name: 'x', rounds: 2.5 }).success).toBe(false);
		expect(CreateProjectBody.safeParse({ name: 'x', admin: true }).success).toBe(false);
		expect(CreateProjectBody.safeParse(null).success).toBe(false);
	});
});
