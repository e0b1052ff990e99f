const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * The participant link to show and encode in the QR code. A dashboard opened on localhost would
 * hand phones a link that points at themselves, so it uses an origin the server says phones can
 * reach instead.
 */
export function joinUrl(projectId: string, here: { origin: string; hostname: string }, publicOrigins: readonly string[]): string {
	const origin = LOOPBACK.has(here.hostname) && publicOrigins.length > 0 ? publicOrigins[0] : here.origin;
	return `${origin}/join/${encodeURIComponent(projectId)}`;
}
