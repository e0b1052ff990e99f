import { parseSimArgs, SIM_USAGE, SimUsageError } from './args';
import { runSimulation } from './run';

async function main(): Promise<number> {
	let parsed;
	try {
		parsed = parseSimArgs(process.argv.slice(2));
	} catch (e) {
		if (!(e instanceof SimUsageError)) throw e;
		console.error(`${e.message}\n\n${SIM_USAGE}`);
		return 2;
	}
	if (parsed.help) {
		console.log(SIM_USAGE);
		return 0;
	}
	const started = Date.now();
	const stamp = (): string => `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`;
	const { report, reportFile, chartFile } = await runSimulation(parsed.options, (line) => console.log(`${stamp()} ${line}`));
	const t = report.totals;
	const fed = t.finalFederatedEvaluation;
	const federated = !fed
		? ''
		: fed.accuracy !== null
			? `; final federated accuracy ${(fed.accuracy * 100).toFixed(2)}%`
			: `; final federated MAE ${fed.mae === null ? '–' : +fed.mae.toPrecision(4)}`;
	console.log(
		`${stamp()} ${t.committedRounds} rounds committed, ${t.failedRounds} failed; final test accuracy ` +
			`${t.finalTestAccuracy === null ? '–' : `${(t.finalTestAccuracy * 100).toFixed(2)}%`}${federated}; mean round ${t.meanCommittedRoundSeconds ?? '–'} s; ` +
			`peak memory ${report.memory.totalMiB} MiB\n${reportFile}\n${chartFile}`
	);
	return t.committedRounds >= parsed.options.rounds ? 0 : 1;
}

main().then(
	(code) => process.exit(code),
	(e: unknown) => {
		console.error(e instanceof Error ? `${e.stack ?? e.message}${e.cause ? `\ncause: ${String(e.cause)}` : ''}` : String(e));
		process.exit(1);
	}
);
