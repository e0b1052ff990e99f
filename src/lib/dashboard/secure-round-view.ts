import type { SecureRoundSummary } from '@qflare/protocol';

/** One line for a secure round: what the server summed and who it needed to unmask it. */
export function describeSecureRound(secure: SecureRoundSummary): { label: string; detail: string } {
	const dropped = secure.droppedBeforeUpload;
	return {
		label: dropped > 0 ? `masked sum, ${dropped} left before uploading` : 'masked sum',
		detail:
			`The server saw only the sum of ${secure.uploaded} masked updates. ` +
			`${secure.revealed} devices revealed shares to remove the masks` +
			(dropped > 0 ? `, including those of ${dropped} ${dropped === 1 ? 'device' : 'devices'} that left after the key exchange` : '') +
			`; each device had ${secure.degree} neighbours, ${secure.threshold} of them needed to rebuild a seed.`
	};
}
