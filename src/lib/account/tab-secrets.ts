import type { CreatedJoinToken } from '@qflare/protocol';

/**
 * The join link made last in this tab, per project. The server keeps only a hash of a join token,
 * so the link with its token exists nowhere else; sessionStorage keeps it across reloads of this
 * tab only, and it is gone with the tab.
 */
export interface RememberedJoinLink {
	tokenId: string;
	label: string;
	path: string;
	createdAt: string;
}

type KeyValueStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

const key = (projectId: string) => `qflare.joinLink.${projectId}`;

export function rememberJoinLink(store: KeyValueStore, projectId: string, created: CreatedJoinToken): RememberedJoinLink {
	const link: RememberedJoinLink = { tokenId: created.record.id, label: created.record.label, path: created.path, createdAt: created.record.createdAt };
	try {
		store.setItem(key(projectId), JSON.stringify(link));
	} catch {
		// Storage full or disabled: the link still shows until the page goes.
	}
	return link;
}

export function recallJoinLink(store: KeyValueStore, projectId: string): RememberedJoinLink | null {
	let raw: string | null = null;
	try {
		raw = store.getItem(key(projectId));
	} catch {
		return null;
	}
	if (!raw) return null;
	try {
		const v: unknown = JSON.parse(raw);
		if (typeof v !== 'object' || v === null) return null;
		const o = v as Record<string, unknown>;
		if (typeof o.tokenId !== 'string' || typeof o.path !== 'string' || typeof o.label !== 'string' || typeof o.createdAt !== 'string') return null;
		// Only a participant path of this project: anything else in storage is not ours to link to.
		if (!o.path.startsWith(`/join/${encodeURIComponent(projectId)}?`)) return null;
		return { tokenId: o.tokenId, label: o.label, path: o.path, createdAt: o.createdAt };
	} catch {
		return null;
	}
}

export function forgetJoinLink(store: KeyValueStore, projectId: string): void {
	try {
		store.removeItem(key(projectId));
	} catch {
		// Nothing to forget when storage is unavailable.
	}
}
