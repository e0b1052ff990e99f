import { errorText } from './errors';

/**
 * The rows of a "create, list, revoke" panel (API keys, invitations, join links) as the server
 * has them. Its error is the list's own, apart from the create form's, so a failed revoke does not
 * show under the form.
 */
export class RevocableList<T> {
	items = $state<T[] | null>(null);
	error = $state<string | null>(null);

	constructor(private readonly fetchItems: () => Promise<T[]>) {}

	async load(): Promise<void> {
		try {
			this.items = await this.fetchItems();
			this.error = null;
		} catch (e) {
			this.error = errorText(e);
		}
	}

	/** Asks `question` first; reloads whether or not the revoke worked, so the rows show what the server has now. */
	async revoke(question: string, send: () => Promise<void>): Promise<void> {
		if (!confirm(question)) return;
		this.error = null;
		try {
			await send();
		} catch (e) {
			this.error = errorText(e);
		}
		await this.load();
	}
}

/** Newest first: the row just created is the one a coordinator looks for. */
export function newestFirst<T extends { createdAt: string }>(items: readonly T[]): T[] {
	return [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
