import { DataImportError, decodeImageFile, encodeRows, encodeWindows, toModelInputs, unscalableInputs } from '@qflare/data-import';
import {
	ErrorCode,
	numericColumns,
	ProtocolError,
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
	// A value the scaling takes out of float32 is the request's: the client hears which.
	const problems = unscalableInputs(raw, scaled, task, standardization);
	if (problems.length > 0) throw new ProtocolError(ErrorCode.SchemaInvalid, problems.join('; '));
	return { inputs: scaled, count };
}
