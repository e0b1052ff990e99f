import type { ConnectionState, ParticipantState, SessionPhase, UploadState } from '@qflare/participant';
import type { ImportProgress } from '../worker/trainer-api';

// Words the participant page shows for the session's state.

export const PHASE_LABELS: Record<SessionPhase, string> = {
	starting: 'Starting',
	connecting: 'Connecting to the server',
	authenticating: 'Signing in',
	'loading-data': 'Loading the local data set',
	calibrating: 'Choosing the fastest training backend',
	waiting: 'Ready, waiting for the next round',
	training: 'Training on this device',
	uploading: 'Sending the model update',
	evaluating: 'Scoring the global model on your held-out data',
	'needs-data': 'Waiting for your data',
	stopped: 'Stopped',
	failed: 'Cannot take part'
};

export const CONNECTION_LABELS: Record<ConnectionState, string> = {
	offline: 'offline',
	connecting: 'connecting',
	online: 'online'
};

export const UPLOAD_LABELS: Record<UploadState, string> = {
	none: '',
	sending: 'sending update',
	retrying: 'update not confirmed yet, re-sending',
	accepted: 'update accepted',
	rejected: 'update rejected'
};

type SecureStatus = NonNullable<ParticipantState['secure']>;

const SECURE_LABELS: Record<SecureStatus['phase'], string> = {
	keys: 'keys sent',
	shares: 'seed shares sent',
	ready: 'pair masks agreed',
	masked: 'update masked',
	revealed: 'shares revealed to unmask the sum',
	aborted: 'given up for this round'
};

/** "Secure aggregation: update masked (4 neighbours)"; '' outside secure rounds. */
export function secureLabel(secure: ParticipantState['secure']): string {
	if (!secure) return '';
	const neighbours = secure.neighbours > 0 ? ` (${secure.neighbours} neighbour${secure.neighbours === 1 ? '' : 's'})` : '';
	return `Secure aggregation: ${SECURE_LABELS[secure.phase]}${neighbours}`;
}

/** "Decoding images: 120 of 1000" and the like, for the import progress bar. */
export function importStageLabel(progress: ImportProgress | null): string {
	switch (progress?.stage ?? 'reading') {
		case 'reading':
			return 'Reading the files';
		case 'decoding':
			return `Decoding images: ${progress?.done ?? 0} of ${progress?.total ?? 0}`;
		case 'checking':
			return 'Checking the data against the project';
		case 'saving':
			return 'Storing the prepared data in this browser';
	}
}
