import type { ConnectionState, SessionPhase, UploadState } from '@qflare/participant';

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
