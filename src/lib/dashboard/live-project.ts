import type { Device, DeviceProgress, ModelRecord, Round } from '@qflare/protocol';

// Pure merges of the dashboard's live events into the lists fetched over REST.

/** Replaces the round with the same id or inserts it; sorted by round number. */
export function upsertRound(rounds: Round[], round: Round): Round[] {
	const rest = rounds.filter((r) => r.id !== round.id && r.number !== round.number);
	return [...rest, round].sort((a, b) => a.number - b.number);
}

export function upsertModel(models: ModelRecord[], model: ModelRecord): ModelRecord[] {
	const rest = models.filter((m) => m.version !== model.version);
	return [...rest, model].sort((a, b) => a.version - b.version);
}

/** Online devices first, revoked ones last, then by most recently seen. */
export function sortDevices(devices: Device[]): Device[] {
	// Devices from a server before revocation existed carry no revokedAt: treat them as not revoked.
	const revoked = (d: Device) => Number(d.revokedAt !== null && d.revokedAt !== undefined);
	return [...devices].sort(
		(a, b) => revoked(a) - revoked(b) || Number(b.online) - Number(a.online) || b.lastSeen.localeCompare(a.lastSeen)
	);
}

/** Latest progress per device, only for the given round. */
export function progressForRound(
	progress: Record<string, DeviceProgress>,
	roundId: string | null
): DeviceProgress[] {
	if (!roundId) return [];
	return Object.values(progress)
		.filter((p) => p.roundId === roundId)
		.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
}

export function roundDurationMs(round: Round): number | null {
	if (!round.endedAt) return null;
	const ms = Date.parse(round.endedAt) - Date.parse(round.startedAt);
	return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

/** Points for the accuracy/loss chart: committed rounds only, by round number. */
export function metricSeries(rounds: Round[]): { accuracy: { x: number; y: number }[]; loss: { x: number; y: number }[] } {
	const done = rounds.filter((r) => r.status === 'committed');
	return {
		accuracy: done.map((r) => ({ x: r.number, y: r.metrics.testAccuracy ?? Number.NaN })),
		loss: done.map((r) => ({ x: r.number, y: r.metrics.testLoss ?? Number.NaN }))
	};
}
