/** The server's minimum for a new password; forms check it first so the user learns it before sending. */
export const MIN_PASSWORD = 10;

/** Why a new password would be refused, or null when it is long enough. */
export function passwordProblem(password: string): string | null {
	return password.length < MIN_PASSWORD ? `A password has at least ${MIN_PASSWORD} characters.` : null;
}
