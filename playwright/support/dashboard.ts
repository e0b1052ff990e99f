import { expect, type Locator, type Page } from '@playwright/test';

/**
 * What a "shown once" element carries: an anchor's href, an input's value, else its text. The
 * dashboard may show a link or a secret as any of these (a copyable input is common).
 */
export async function shownValue(locator: Locator): Promise<string> {
	await expect(locator).toBeVisible();
	const value = await locator.evaluate((el) => {
		if (el instanceof HTMLAnchorElement) return el.href;
		if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) return el.value;
		const inner = el.querySelector('a[href], input, textarea');
		if (inner instanceof HTMLAnchorElement) return inner.href;
		if (inner instanceof HTMLInputElement || inner instanceof HTMLTextAreaElement) return inner.value;
		return (el.textContent ?? '').trim();
	});
	if (!value) throw new Error('the element shows no value');
	return value;
}

/** Creates a join link on the project page (JoinLinksPanel's form) and returns it as shown. */
export async function createJoinLink(page: Page): Promise<string> {
	await page.getByTestId('join-token-create').getByTestId('join-token-submit').click();
	return shownValue(page.getByTestId('join-link'));
}
