// Consent is remembered per project so that a reload rejoins without asking again.
const key = (projectId: string) => `qflare.consent.${projectId}`;

export function hasConsented(projectId: string): boolean {
	try {
		return localStorage.getItem(key(projectId)) === 'yes';
	} catch {
		return false;
	}
}

export function rememberConsent(projectId: string): void {
	try {
		localStorage.setItem(key(projectId), 'yes');
	} catch {
		// Storage can be disabled; the page then asks again after a reload.
	}
}

export function forgetConsent(projectId: string): void {
	try {
		localStorage.removeItem(key(projectId));
	} catch {
		// Nothing stored, nothing to forget.
	}
}
