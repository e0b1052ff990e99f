import { describe, expect, it } from 'vitest';
import { joinUrl, linkUrls } from './join-url';

describe('joinUrl', () => {
	it('replaces a loopback origin with the first origin phones can reach', () => {
		expect(joinUrl('p1', { origin: 'http://localhost:3000', hostname: 'localhost' }, ['http://192.168.1.5:3000'])).toBe(
			'http://192.168.1.5:3000/join/p1'
		);
		expect(joinUrl('p1', { origin: 'http://127.0.0.1:3000', hostname: '127.0.0.1' }, ['http://10.0.0.2:3000', 'http://x'])).toBe(
			'http://10.0.0.2:3000/join/p1'
		);
	});

	it('keeps the origin the dashboard was opened at when it is not loopback or nothing better is known', () => {
		expect(joinUrl('p1', { origin: 'https://fl.example.org', hostname: 'fl.example.org' }, ['http://192.168.1.5:3000'])).toBe(
			'https://fl.example.org/join/p1'
		);
		expect(joinUrl('p 1', { origin: 'http://localhost:3000', hostname: 'localhost' }, [])).toBe('http://localhost:3000/join/p%201');
	});
});

describe('linkUrls', () => {
	const path = '/join/p1?t=qjt_abc';

	it('puts the phone-reachable origin first and lists each origin once', () => {
		const urls = linkUrls(path, { origin: 'http://localhost:3000', hostname: 'localhost' }, ['http://192.168.1.5:3000', 'http://10.0.0.2:3000']);
		expect(urls.primary).toBe('http://192.168.1.5:3000/join/p1?t=qjt_abc');
		expect(urls.all).toEqual([
			'http://192.168.1.5:3000/join/p1?t=qjt_abc',
			'http://10.0.0.2:3000/join/p1?t=qjt_abc',
			'http://localhost:3000/join/p1?t=qjt_abc'
		]);
	});

	it('keeps a public dashboard origin first', () => {
		const urls = linkUrls(path, { origin: 'https://fl.example.org', hostname: 'fl.example.org' }, ['https://fl.example.org']);
		expect(urls).toEqual({ primary: 'https://fl.example.org/join/p1?t=qjt_abc', all: ['https://fl.example.org/join/p1?t=qjt_abc'] });
	});
});
