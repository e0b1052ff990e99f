/** A parsed partition: the wire form is the protocol's PartitionSpec string. */
export type PartitionPlan = 'iid' | { dirichletAlpha: number };

/** Parses the CLI form: `iid` or `dirichlet:ALPHA`. */
export function parsePartitionSpec(text: string): PartitionPlan {
	if (text === 'iid') return 'iid';
	const match = /^dirichlet:(.+)$/.exec(text);
	const alpha = match ? Number(match[1]) : NaN;
	if (!match || !(alpha > 0) || !Number.isFinite(alpha)) {
		throw new Error(`partition "${text}" must be "iid" or "dirichlet:ALPHA" with ALPHA > 0`);
	}
	return { dirichletAlpha: alpha };
}

export function formatPartitionSpec(spec: PartitionPlan): string {
	return spec === 'iid' ? 'iid' : `dirichlet:${spec.dirichletAlpha}`;
}
