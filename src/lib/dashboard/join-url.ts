const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

type Here = { origin: string; hostname: string };

/**
 * The origin to put in links for phones. A dashboard opened on localhost would hand phones a link
 * that points at themselves, so it uses an origin the server says phones can reach instead.
 */
function phoneOrigin(here: Here, publicOrigins: readonly string[]): string {
	return LOOPBACK.has(here.hostname) && publicOrigins.length > 0 ? publicOrigins[0] : here.origin;
}

/** The participant link to show and encode in the QR code (without a join token). */
export function joinUrl(projectId: string, here: Here, publicOrigins: readonly string[]): string {
	return `${phoneOrigin(here, publicOrigins)}/join/${encodeURIComponent(projectId)}`;
}

/**
 * Full URLs for a server-given path (a join link with its token): `primary` is the one for the QR
 * code, `all` lists it first and then every other origin the server is reachable at, without repeats.
 */
export function linkUrls(path: string, here: Here, publicOrigins: readonly string[]): { primary: string; all: string[] } {
	const primaryOrigin = phoneOrigin(here, publicOrigins);
	const origins = [primaryOrigin, ...publicOrigins, here.origin].filter((o, i, list) => list.indexOf(o) === i);
	const all = origins.map((o) => `${o}${path}`);
	return { primary: all[0], all };
}
