import { DataImportError, decodeImageFile, encodedWidth, encodeRows, encodeWindows, featureSlots, toModelInputs } from '@qflare/data-import';
import {
	ErrorCode,
	numericColumns,
	ProtocolError,
	type ColumnScale,
	type PredictRequest,
	type Standardization,
	type TaskSchema
} from '@qflare/protocol';

/** What a predict body must hold for each kind of task. */
const INPUT_FOR_TASK: Record<TaskSchema['kind'], string> = {
	tabular: 'rows (objects by column name)',
	'time-series': 'windows (window rows x value columns)',
	'image-classification': 'images (base64 PNG or JPEG files)'
};

function wrongInput(task: TaskSchema): ProtocolError {
	return new ProtocolError(ErrorCode.SchemaInvalid, `this project's task is ${task.kind}: send ${INPUT_FOR_TASK[task.kind]}`);
}

/** DataImportError lists problems (row, column, value) as sentences: the answer says them all. */
async function encoded<T>(encode: () => T | Promise<T>): Promise<T> {
	try {
		return await encode();
	} catch (e: unknown) {
		if (e instanceof DataImportError) throw new ProtocolError(ErrorCode.SchemaInvalid, e.problems.join('; '));
		throw e;
	}
}

/**
 * The inputs of a predict request checked against the task and encoded as the model takes
 * them: image pixels (0..255), or rows and windows standardised with the project's scaling.
 */
export async function predictionInputs(
	request: PredictRequest,
	task: TaskSchema,
	standardization: Standardization | null
): Promise<{ inputs: Uint8Array | Float32Array; count: number }> {
	let raw: Uint8Array | Float32Array;
	let count: number;
	if ('rows' in request) {
		if (task.kind !== 'tabular') throw wrongInput(task);
		raw = await encoded(() => encodeRows(request.rows, task));
		count = request.rows.length;
	} else if ('windows' in request) {
		if (task.kind !== 'time-series') throw wrongInput(task);
		raw = await encoded(() => encodeWindows(request.windows, task));
		count = request.windows.length;
	} else {
		if (task.kind !== 'image-classification') throw wrongInput(task);
		const pixels: Uint8Array[] = [];
		for (const [i, image] of request.images.entries()) {
			pixels.push(await encoded(() => decodeImageFile(Buffer.from(image, 'base64'), task, `image ${i + 1}`)));
		}
		const sampleSize = task.width * task.height * task.channels;
		raw = new Uint8Array(pixels.length * sampleSize);
		pixels.forEach((p, i) => raw.set(p, i * sampleSize));
		count = pixels.length;
	}
	if (numericColumns(task).length > 0 && standardization === null) {
		throw new ProtocolError(ErrorCode.Conflict, 'the project has no feature scaling yet: it is merged from the devices\' statistics when the project starts');
	}
	// The training path's own scaling, so a prediction sees inputs exactly as training did.
	const scaled = toModelInputs(raw, count, task, standardization);
	const problems = unscalableInputs(task, raw, scaled, standardization);
	if (problems.length > 0) throw new ProtocolError(ErrorCode.SchemaInvalid, problems.join('; '));
	return { inputs: scaled, count };
}

/** The column of encoded input position `index` and where it sits, for tabular rows and time-series windows. */
function inputPlace(task: TaskSchema, index: number): { column: string; place: string } | null {
	if (task.kind === 'tabular') {
		const width = encodedWidth(task);
		const slot = featureSlots(task).find((s) => index % width >= s.offset && index % width < s.offset + s.width);
		return slot ? { column: slot.name, place: `row ${Math.floor(index / width) + 1}, feature ${JSON.stringify(slot.name)}` } : null;
	}
	if (task.kind === 'time-series') {
		const values = task.valueColumns.length;
		const column = task.valueColumns[index % values];
		const window = Math.floor(index / (task.window * values));
		const row = Math.floor((index % (task.window * values)) / values);
		return { column, place: `window ${window + 1}, row ${row + 1}, column ${JSON.stringify(column)}` };
	}
	return null;
}

/**
 * A raw value within float32 can still leave it when standardised ((x - mean) / std with a small
 * std); the model would then be fed Infinity. That is the request's value, so the client hears which.
 */
function unscalableInputs(task: TaskSchema, raw: Uint8Array | Float32Array, scaled: Uint8Array | Float32Array, standardization: Standardization | null): string[] {
	if (!(scaled instanceof Float32Array) || standardization === null) return [];
	const problems: string[] = [];
	for (let i = 0; i < scaled.length && problems.length < 20; i++) {
		if (Number.isFinite(scaled[i])) continue;
		const where = inputPlace(task, i);
		const scale: ColumnScale | undefined = where ? standardization.columns[where.column] : undefined;
		const value = String(Number(raw[i].toPrecision(6)));
		problems.push(
			where && scale
				? `${where.place}: ${value} is too far from the mean the model was trained with (${scale.mean}, std ${scale.std}) to be scaled`
				: `input value ${value} at position ${i + 1} cannot be scaled`
		);
	}
	return problems;
}
