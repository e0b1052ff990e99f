import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from './base64';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('base64', () => {
	it('matches the RFC 4648 vectors both ways', () => {
		const vectors: Array<[string, string]> = [
			['', ''],
			['f', 'Zg=='],
			['fo', 'Zm8='],
			['foo', 'Zm9v'],
			['foobar', 'Zm9vYmFy']
		];
		for (const [plain, encoded] of vectors) {
			expect(toBase64(ascii(plain))).toBe(encoded);
			expect(fromBase64(encoded)).toEqual(ascii(plain));
		}
	});

	it('round-trips every byte value and inputs larger than one chunk', () => {
		const all = Uint8Array.from({ length: 256 }, (_, i) => i);
		expect(fromBase64(toBase64(all))).toEqual(all);
		const big = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 31) & 0xff);
		const text = toBase64(big);
		expect(text.length).toBe(133_340);
		expect(fromBase64(text)).toEqual(big);
	});

	it('throws a clear error on invalid input', () => {
		for (const bad of ['Zg', 'Zg=', 'Z===', 'Zm9v!', 'Zm 9v', 'Zm9v\n', '-_8=']) {
			expect(() => fromBase64(bad)).toThrow('invalid base64');
		}
	});
});
