import type { LocalProgress } from './ports';

// Epoch and batch are 1-based, as @qflare/trainer reports them (epoch 1..epochs, batch 1..batches).

/** True for the last batch of the last epoch: that one is always reported. */
export function isFinalBatch(p: LocalProgress): boolean {
	return p.epoch >= p.epochs && p.batch >= p.batches;
}

/** Share of the local training done, in [0, 1]. */
export function progressFraction(p: LocalProgress): number {
	const total = p.epochs * p.batches;
	if (!(total > 0)) return 0;
	const done = (Math.max(1, p.epoch) - 1) * p.batches + p.batch;
	return Math.min(1, Math.max(0, done / total));
}

/**
 * Lets through at most one progress report per interval (the first, then one each
 * `intervalMs`), plus the final one, so a fast backend does not flood the socket.
 */
export class ProgressThrottle {
	private last = Number.NEGATIVE_INFINITY;

	constructor(
		private readonly intervalMs: number,
		private readonly now: () => number
	) {}

	accept(p: LocalProgress): boolean {
		const t = this.now();
		if (isFinalBatch(p) || t - this.last >= this.intervalMs) {
			this.last = t;
			return true;
		}
		return false;
	}

	reset(): void {
		this.last = Number.NEGATIVE_INFINITY;
	}
}
