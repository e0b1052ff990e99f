import { describe, expect, it } from 'vitest';
import { isAuthRefusal } from './dashboard-socket';

describe('isAuthRefusal', () => {
	it('recognises only the server\'s UNAUTHENTICATED and FORBIDDEN handshake refusals', () => {
		expect(isAuthRefusal(new Error('UNAUTHENTICATED'))).toBe(true);
		expect(isAuthRefusal(new Error('FORBIDDEN'))).toBe(true);
		expect(isAuthRefusal(new Error('websocket error'))).toBe(false);
		expect(isAuthRefusal({})).toBe(false);
	});
});
