/** How many problems one error lists; the rest are counted, so a broken 100,000-row file stays readable. */
export const MAX_LISTED_PROBLEMS = 20;

/**
 * Data that does not fit the project's task. `problems` holds one clear sentence per problem
 * (file, row as a spreadsheet shows it, column, value), at most MAX_LISTED_PROBLEMS of them plus a
 * last "... and N more problems" line.
 */
export class DataImportError extends Error {
	readonly problems: string[];

	constructor(problems: string[]) {
		const list = problems.length > 0 ? problems : ['the data could not be imported'];
		super(list.length === 1 ? list[0] : `${list.length} problems with the data:\n${list.map((p) => `- ${p}`).join('\n')}`);
		this.name = 'DataImportError';
		this.problems = list;
	}
}

/** Collects problems while a file is checked; throws them all at once so the user fixes them in one go. */
export class ProblemList {
	private readonly listed: string[] = [];
	private total = 0;

	constructor(private readonly limit = MAX_LISTED_PROBLEMS) {}

	add(problem: string): void {
		if (this.listed.length < this.limit) this.listed.push(problem);
		this.total++;
	}

	get count(): number {
		return this.total;
	}

	/** The listed problems with the count of those left out. */
	messages(): string[] {
		const left = this.total - this.listed.length;
		return left > 0 ? [...this.listed, `... and ${left} more problem${left === 1 ? '' : 's'}`] : [...this.listed];
	}

	throwIfAny(): void {
		if (this.total > 0) throw new DataImportError(this.messages());
	}
}

/** A cell value as it appears in a message: quoted, shortened, never multi-line. */
export function quoteValue(value: string): string {
	const oneLine = value.replace(/\s+/g, ' ');
	return JSON.stringify(oneLine.length > 40 ? `${oneLine.slice(0, 37)}...` : oneLine);
}

/** "a, b, c" or "a, b, c, ... (40 in all)" for messages that list what would have been accepted. */
export function listChoices(values: readonly string[], max = 10): string {
	const shown = values.slice(0, max).map((v) => JSON.stringify(v)).join(', ');
	return values.length > max ? `${shown}, ... (${values.length} in all)` : shown;
}
