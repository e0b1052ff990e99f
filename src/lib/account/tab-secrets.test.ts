import { describe, expect, it } from 'vitest';
import type { CreatedJoinToken } from '@qflare/protocol';
import { forgetJoinLink, recallJoinLink, rememberJoinLink } from './tab-secrets';

class MemoryStorage {
	readonly items = new Map<string, string>();
	getItem(key: string): string | null {
		return this.items.get(key) ?? null;
	}
	setItem(key: string, value: string): void {
		this.items.set(key, value);
	}
	removeItem(key: string): void {
		this.items.delete(key);
	}
}

const created: CreatedJoinToken = {
	record: {
		id: 'jt1', projectId: 'p1', label: 'lab', prefix: 'qjt_abcdef', createdBy: 'u', createdAt: '2026-01-01T00:00:00.000Z',
		expiresAt: null, maxDevices: 5, devicesJoined: 0, revokedAt: null
	},
	token: 'qjt_abcdefsecret',
	path: '/join/p1?t=qjt_abcdefsecret'
};

describe('join link kept for this tab', () => {
	it('remembers, recalls and forgets the link per project', () => {
		const store = new MemoryStorage();
		expect(recallJoinLink(store, 'p1')).toBeNull();
		const link = rememberJoinLink(store, 'p1', created);
		expect(link).toEqual({ tokenId: 'jt1', label: 'lab', path: '/join/p1?t=qjt_abcdefsecret', createdAt: '2026-01-01T00:00:00.000Z' });
		expect(recallJoinLink(store, 'p1')).toEqual(link);
		expect(recallJoinLink(store, 'p2')).toBeNull();
		forgetJoinLink(store, 'p1');
		expect(recallJoinLink(store, 'p1')).toBeNull();
	});

	it('ignores malformed entries and paths into other places', () => {
		const store = new MemoryStorage();
		store.setItem('qflare.joinLink.p1', '{not json');
		expect(recallJoinLink(store, 'p1')).toBeNull();
		store.setItem('qflare.joinLink.p1', JSON.stringify({ tokenId: 'x', label: '', path: 'https://evil.example/', createdAt: 'x' }));
		expect(recallJoinLink(store, 'p1')).toBeNull();
		store.setItem('qflare.joinLink.p1', JSON.stringify({ tokenId: 1, label: '', path: '/join/p1?t=x', createdAt: 'x' }));
		expect(recallJoinLink(store, 'p1')).toBeNull();
	});

	it('survives a storage that throws', () => {
		const broken = {
			getItem(): string | null {
				throw new Error('denied');
			},
			setItem(): void {
				throw new Error('quota');
			},
			removeItem(): void {
				throw new Error('denied');
			}
		};
		expect(rememberJoinLink(broken, 'p1', created).tokenId).toBe('jt1');
		expect(recallJoinLink(broken, 'p1')).toBeNull();
		expect(() => forgetJoinLink(broken, 'p1')).not.toThrow();
	});
});
