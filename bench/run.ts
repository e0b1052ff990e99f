// npm run bench [-- --only aggregation,post-quantum --quick]
import { machineInfo } from './lib/stats';
import type { Section, SectionResult } from './lib/types';
import { formatTable, writeSection, writeSummary } from './report';

// Post-quantum runs last: it expresses the signature cost as a share of a round measured earlier.
const SECTIONS: Record<string, () => Promise<Section>> = {
	aggregation: async () => (await import('./sections/aggregation')).aggregation,
	ingestion: async () => (await import('./sections/ingestion')).ingestion,
	durability: async () => (await import('./sections/durability')).durability,
	capacity: async () => (await import('./sections/capacity')).capacity,
	training: async () => (await import('./sections/training')).training,
	'data-import': async () => (await import('./sections/data-import')).dataImport,
	'time-to-accuracy': async () => (await import('./sections/time-to-accuracy')).timeToAccuracy,
	compression: async () => (await import('./sections/compression')).compression,
	'secure-aggregation': async () => (await import('./sections/secure-aggregation')).secureAggregation,
	'post-quantum': async () => (await import('./sections/post-quantum')).postQuantum
};
const ALIASES: Record<string, string> = { pq: 'post-quantum', tta: 'time-to-accuracy', agg: 'aggregation', import: 'data-import', durable: 'durability', compress: 'compression', secagg: 'secure-aggregation' };

function parseArgs(argv: string[]): { only: string[]; quick: boolean } {
	let only = Object.keys(SECTIONS);
	let quick = false;
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--quick') quick = true;
		else if (a === '--only' || a.startsWith('--only=')) {
			const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
			if (!value) throw new Error('--only needs a comma-separated list of sections');
			only = value.split(',').map((s) => ALIASES[s.trim()] ?? s.trim());
		} else if (a === '--help' || a === '-h') {
			console.log(`usage: npm run bench [-- --only ${Object.keys(SECTIONS).join(',')} --quick]`);
			process.exit(0);
		} else throw new Error(`unknown argument ${a}`);
	}
	for (const s of only) if (!SECTIONS[s]) throw new Error(`unknown section ${s}; sections: ${Object.keys(SECTIONS).join(', ')}`);
	// Keep the canonical order whatever order --only listed.
	return { only: Object.keys(SECTIONS).filter((s) => only.includes(s)), quick };
}

const { only, quick } = parseArgs(process.argv.slice(2));
const machine = machineInfo();
const startedAt = new Date().toISOString();
const earlier = new Map<string, SectionResult>();
const results: SectionResult[] = [];
const log = (m: string) => console.log(`[bench] ${m}`);
log(`${only.join(', ')}${quick ? ' (quick)' : ''} on ${machine.cpus} x ${machine.cpuModel}, node ${machine.node}, load ${machine.loadavg.join(' ')}`);

let failed = false;
for (const name of only) {
	const t = performance.now();
	log(`${name}: start`);
	try {
		const section = await SECTIONS[name]();
		const result = await section({ quick, machine, earlier, log: (m) => log(`${name}: ${m}`) });
		earlier.set(name, result);
		results.push(result);
		log(`${name}: done in ${((performance.now() - t) / 1000).toFixed(1)} s -> ${writeSection(result, machine, startedAt)}`);
	} catch (e) {
		failed = true;
		console.error(`[bench] ${name} failed: ${(e as Error).stack ?? String(e)}`);
	}
}
if (results.length) {
	const summary = writeSummary(results, machine, startedAt);
	console.log('\n' + formatTable(results));
	console.log(`\n${machine.cpus} CPUs (${machine.cpuModel}), node ${machine.node}; shared machine. JSON: ${summary}`);
}
// Sockets, tfjs and child processes can hold the loop open; the results are written.
process.exit(failed ? 1 : 0);
