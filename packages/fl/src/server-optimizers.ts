// Server optimisers of Reddi et al. 2021, "Adaptive Federated Optimization", Algorithm 2, and
// server momentum (FedAvgM, Hsu et al. 2019). The round's averaged delta is the pseudo-gradient;
// deltas are local minus global, so the step adds it (it already points downhill).

export type ServerOptimizerName = 'fedavgm' | 'fedadagrad' | 'fedadam' | 'fedyogi';

export interface ServerOptimizerParams {
	/** eta: step size applied to the momentum. */
	serverLearningRate: number;
	/** FedAvgM: m = momentum * m + delta. Adaptive: beta1 for m = beta1 m + (1 - beta1) delta. */
	beta1: number;
	/** FedAdam / FedYogi second-moment decay; unused by FedAvgM and FedAdagrad. */
	beta2: number;
	/** Adaptivity tau: keeps the denominator away from zero; v starts at tau^2. */
	tau: number;
}

/**
 * What persists between rounds. Plain Float32Arrays plus two numbers, so the server can store
 * it beside the model; what is stored is exactly what the next round computes with.
 */
export interface ServerOptimizerState {
	optimizer: ServerOptimizerName;
	/** Rounds applied so far. */
	round: number;
	/** First moment (momentum). */
	m: Float32Array;
	/** Second moment; null for FedAvgM. */
	v: Float32Array | null;
}

/** Starting state: m = 0 and, as Algorithm 2 asks (v_{-1} >= tau^2), v = tau^2. */
export function createServerOptimizerState(optimizer: ServerOptimizerName, length: number, tau: number): ServerOptimizerState {
	return {
		optimizer,
		round: 0,
		m: new Float32Array(length),
		v: optimizer === 'fedavgm' ? null : new Float32Array(length).fill(tau * tau)
	};
}

export function cloneServerOptimizerState(state: ServerOptimizerState): ServerOptimizerState {
	return { optimizer: state.optimizer, round: state.round, m: state.m.slice(), v: state.v ? state.v.slice() : null };
}

/**
 * One server step. Returns the new global weights and the next state; inputs are not changed,
 * so a failed round leaves the stored state as it was.
 */
export function applyServerOptimizer(
	global: Float32Array,
	pseudoGradient: Float32Array,
	state: ServerOptimizerState,
	params: ServerOptimizerParams
): { global: Float32Array; state: ServerOptimizerState } {
	const n = global.length;
	if (pseudoGradient.length !== n || state.m.length !== n || (state.v !== null && state.v.length !== n)) {
		throw new Error('server optimiser: global, pseudo-gradient and state lengths differ');
	}
	const { serverLearningRate: eta, beta1, beta2, tau } = params;
	const next = cloneServerOptimizerState(state);
	next.round = state.round + 1;
	const out = new Float32Array(n);
	const m = next.m;
	if (state.optimizer === 'fedavgm') {
		for (let i = 0; i < n; i++) {
			m[i] = beta1 * m[i] + pseudoGradient[i];
			out[i] = global[i] + eta * m[i];
		}
		return { global: out, state: next };
	}
	const v = next.v;
	if (v === null) throw new Error(`${state.optimizer} state has no second moment`);
	for (let i = 0; i < n; i++) {
		const g = pseudoGradient[i];
		const g2 = g * g;
		m[i] = beta1 * m[i] + (1 - beta1) * g;
		if (state.optimizer === 'fedadagrad') v[i] = v[i] + g2;
		else if (state.optimizer === 'fedadam') v[i] = beta2 * v[i] + (1 - beta2) * g2;
		else v[i] = v[i] - (1 - beta2) * g2 * Math.sign(v[i] - g2);
		out[i] = global[i] + (eta * m[i]) / (Math.sqrt(v[i]) + tau);
	}
	return { global: out, state: next };
}

const OPTIMIZER_CODES: ServerOptimizerName[] = ['fedavgm', 'fedadagrad', 'fedadam', 'fedyogi'];
const STATE_HEADER_BYTES = 12;

/**
 * Bytes of a state for storage beside the model it produced:
 * u8 optimizer, u8 has-v, u16 reserved, u32 round, u32 length, m (f32 LE), then v (f32 LE) if any.
 */
export function encodeServerOptimizerState(state: ServerOptimizerState): Uint8Array {
	const n = state.m.length;
	const out = new Uint8Array(STATE_HEADER_BYTES + n * 4 * (state.v ? 2 : 1));
	const view = new DataView(out.buffer);
	view.setUint8(0, OPTIMIZER_CODES.indexOf(state.optimizer));
	view.setUint8(1, state.v ? 1 : 0);
	view.setUint32(4, state.round, true);
	view.setUint32(8, n, true);
	new Float32Array(out.buffer, STATE_HEADER_BYTES, n).set(state.m);
	if (state.v) new Float32Array(out.buffer, STATE_HEADER_BYTES + n * 4, n).set(state.v);
	return out;
}

export function decodeServerOptimizerState(bytes: Uint8Array): ServerOptimizerState {
	if (bytes.byteLength < STATE_HEADER_BYTES) throw new Error('server optimiser state: too short');
	const copy = bytes.slice();
	const view = new DataView(copy.buffer);
	const optimizer = OPTIMIZER_CODES[view.getUint8(0)];
	const hasV = view.getUint8(1) === 1;
	const n = view.getUint32(8, true);
	if (!optimizer) throw new Error(`server optimiser state: unknown optimizer code ${view.getUint8(0)}`);
	if (copy.byteLength !== STATE_HEADER_BYTES + n * 4 * (hasV ? 2 : 1)) throw new Error('server optimiser state: wrong length');
	return {
		optimizer,
		round: view.getUint32(4, true),
		m: new Float32Array(copy.buffer, STATE_HEADER_BYTES, n),
		v: hasV ? new Float32Array(copy.buffer, STATE_HEADER_BYTES + n * 4, n) : null
	};
}
