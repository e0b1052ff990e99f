import { describe, expect, it } from 'vitest';
import { ApiError } from '../dashboard/rest-client';
import { auditDetails } from './audit-view';
import { errorText, isUnauthenticated } from './errors';

describe('errorText', () => {
	it('shows the wait for a rate-limited call and the server message otherwise', () => {
		expect(errorText(new ApiError(429, 'RATE_LIMITED', 'too many', 300))).toBe('Too many attempts. Try again in 5 min.');
		expect(errorText(new ApiError(429, 'RATE_LIMITED', 'too many'))).toBe('Too many attempts. Try again in a while.');
		expect(errorText(new ApiError(401, 'UNAUTHENTICATED', 'wrong e-mail or password'))).toBe('wrong e-mail or password');
		expect(errorText(new Error('boom'))).toBe('boom');
		expect(errorText('plain')).toBe('plain');
	});

	it('recognises a missing session', () => {
		expect(isUnauthenticated(new ApiError(401, 'UNAUTHENTICATED', 'x'))).toBe(true);
		expect(isUnauthenticated(new ApiError(403, 'FORBIDDEN', 'x'))).toBe(false);
		expect(isUnauthenticated(new Error('x'))).toBe(false);
	});
});

describe('auditDetails', () => {
	it('reads as one line', () => {
		expect(auditDetails({ role: 'admin', count: 2, ok: true, email: null })).toBe('role=admin, count=2, ok=true, email=–');
		expect(auditDetails({})).toBe('');
	});
});
