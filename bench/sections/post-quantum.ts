import { generateKeyPairSync, sign as edSign, verify as edVerify, diffieHellman } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { generateDeviceKeypair, kemDecapsulate, kemEncapsulate, kemKeygen, signMessage, updateMessage, verifySignature } from '@qflare/pq';
import { ratio, summarize, timeTrials, type Summary } from '../lib/stats';
import { fmtSummary, type Section, type SectionResult, type TableRow } from '../lib/types';
import { RESULTS_DIR } from '../report';

/** A round's wall time from a section of this run, else from that section's last JSON. */
function roundWall(earlier: Map<string, SectionResult>, section: string, pick: (data: Record<string, unknown>) => Summary | undefined): { ms: number; from: string } | null {
	let data = earlier.get(section)?.data;
	let from = `${section} section of this run`;
	if (!data) {
		const file = path.join(RESULTS_DIR, `${section}.json`);
		if (!existsSync(file)) return null;
		data = (JSON.parse(readFileSync(file, 'utf8')) as SectionResult).data;
		from = `bench/results/${section}.json of an earlier run`;
	}
	try {
		const s = pick(data);
		return s ? { ms: s.median, from } : null;
	} catch {
		return null;
	}
}

export const postQuantum: Section = async (ctx) => {
	const n = ctx.quick ? 30 : 200;
	const message = updateMessage({ roundId: 'r-bench', modelVersion: 7, payloadSha256: 'a'.repeat(64) });

	// Interleave each PQ operation with its classical counterpart, trial by trial.
	const kp = generateDeviceKeypair();
	const sig = signMessage(kp.secretKey, message);
	const ed = generateKeyPairSync('ed25519');
	const edSig = edSign(null, message, ed.privateKey);
	const kem = kemKeygen();
	const { cipherText } = kemEncapsulate(kem.publicKey);
	const xa = generateKeyPairSync('x25519');
	const xb = generateKeyPairSync('x25519');

	const pairs: { op: string; pq: () => unknown; base: () => unknown; baseName: string }[] = [
		{ op: 'ML-DSA-65 keygen', pq: () => generateDeviceKeypair(), base: () => generateKeyPairSync('ed25519'), baseName: 'ed25519 keygen' },
		{ op: 'ML-DSA-65 sign', pq: () => signMessage(kp.secretKey, message), base: () => edSign(null, message, ed.privateKey), baseName: 'ed25519 sign' },
		{ op: 'ML-DSA-65 verify', pq: () => verifySignature(kp.publicKey, message, sig), base: () => edVerify(null, message, ed.publicKey, edSig), baseName: 'ed25519 verify' },
		{ op: 'ML-KEM-768 keygen', pq: () => kemKeygen(), base: () => generateKeyPairSync('x25519'), baseName: 'x25519 keygen' },
		{ op: 'ML-KEM-768 encapsulate', pq: () => kemEncapsulate(kem.publicKey), base: () => diffieHellman({ privateKey: xa.privateKey, publicKey: xb.publicKey }), baseName: 'x25519 derive' },
		{ op: 'ML-KEM-768 decapsulate', pq: () => kemDecapsulate(cipherText, kem.secretKey), base: () => diffieHellman({ privateKey: xb.privateKey, publicKey: xa.publicKey }), baseName: 'x25519 derive' }
	];
	const rows: TableRow[] = [];
	const ops: Record<string, { pq: Summary; baseline: Summary; baselineName: string }> = {};
	for (const { op, pq, base, baseName } of pairs) {
		const a: number[] = [];
		const b: number[] = [];
		for (let i = 0; i < 5; i++) {
			pq();
			base();
		}
		for (let i = 0; i < n; i++) {
			a.push(...(await timeTrials(1, pq, 0)));
			b.push(...(await timeTrials(1, base, 0)));
		}
		const s = summarize(a);
		const sb = summarize(b);
		ops[op] = { pq: s, baseline: sb, baselineName: baseName };
		rows.push({ figure: op, value: fmtSummary(s, 'ms/op', 3), baseline: `${baseName} ${fmtSummary(sb, 'ms', 3)}`, ratio: ratio(s, sb) });
	}

	// One signed update costs a sign on the client and a verify on the server.
	const perUpdateMs = ops['ML-DSA-65 sign'].pq.median + ops['ML-DSA-65 verify'].pq.median;
	const edPerUpdateMs = ops['ML-DSA-65 sign'].baseline.median + ops['ML-DSA-65 verify'].baseline.median;
	const notMeasured: string[] = [];
	const shares: Record<string, unknown> = {};
	const candidates = [
		{
			label: 'CNN round, 1 client (ingestion)',
			wall: roundWall(ctx.earlier, 'ingestion', (d) => (d.perClientCount as Record<string, { qflare: { roundWallMs: Summary } }>)['1'].qflare.roundWallMs)
		},
		{
			label: 'MLP round, 10 clients (time-to-accuracy)',
			wall: roundWall(ctx.earlier, 'time-to-accuracy', (d) => d.roundWallMs as Summary | undefined)
		}
	];
	for (const { label, wall } of candidates) {
		if (!wall) {
			notMeasured.push(`signature share of a ${label}: no round time (run that section first)`);
			continue;
		}
		const share = perUpdateMs / wall.ms;
		shares[label] = { roundWallMs: wall.ms, from: wall.from, signPlusVerifyMs: perUpdateMs, share };
		rows.push({
			figure: `sign+verify share of ${label}`,
			value: `${(share * 100).toFixed(2)}% (${perUpdateMs.toFixed(2)} of ${wall.ms.toFixed(0)} ms)`,
			baseline: `ed25519 ${((edPerUpdateMs / wall.ms) * 100).toFixed(3)}%`,
			ratio: Math.round((perUpdateMs / edPerUpdateMs) * 100) / 100
		});
	}
	return {
		section: 'post-quantum',
		method:
			`${n} interleaved single-operation trials each (after 5 warm-ups) of @qflare/pq ML-DSA-65 and ML-KEM-768 next to node:crypto ed25519 (signatures) and ` +
			`x25519 (key agreement); share = (sign + verify medians) / median wall time of a round from the ingestion or time-to-accuracy section; the signed message is a real updateMessage`,
		rows,
		notMeasured,
		data: { trials: n, ops, signPlusVerifyMs: perUpdateMs, ed25519SignPlusVerifyMs: edPerUpdateMs, shares }
	};
};
