/** One CSV cell (RFC 4180): quoted when it holds a comma, a quote, a line break or edge spaces. */
export function csvCell(value: string | number): string {
	const text = typeof value === 'number' ? numberText(value) : value;
	return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(cells: readonly (string | number)[]): string {
	return cells.map(csvCell).join(',');
}

/** A header line and rows, each line ending in "\n". */
export function csvText(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
	return [header, ...rows].map((cells) => `${csvLine(cells)}\n`).join('');
}

function numberText(value: number): string {
	if (!Number.isFinite(value)) throw new Error(`cannot write ${value} into a CSV cell`);
	return String(value);
}

/**
 * Splits one line of a CSV the examples wrote (cells quoted only when they must be, never a
 * line break inside a cell). Participants' own files go through papaparse, not this.
 */
export function parseCsvLine(line: string): string[] {
	const cells: string[] = [];
	let i = 0;
	for (;;) {
		let cell = '';
		if (line[i] === '"') {
			i++;
			for (;;) {
				if (i >= line.length) throw new Error(`unterminated quote in CSV line: ${line}`);
				if (line[i] === '"') {
					if (line[i + 1] === '"') {
						cell += '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				cell += line[i++];
			}
			if (i < line.length && line[i] !== ',') throw new Error(`text after a closing quote in CSV line: ${line}`);
		} else {
			const end = line.indexOf(',', i);
			cell = line.slice(i, end < 0 ? line.length : end);
			i = end < 0 ? line.length : end;
		}
		cells.push(cell);
		if (i >= line.length) return cells;
		i++; // the comma
	}
}
