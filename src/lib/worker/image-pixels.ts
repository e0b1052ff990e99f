import { DataImportError, rgbaToChannels } from '@qflare/data-import';
import type { ImageClassificationTask } from '@qflare/protocol';

/**
 * Decodes an image file in the worker and returns its pixels as the task needs them: resized
 * to width x height on an OffscreenCanvas, composited over white, converted to the task's 1 or
 * 3 channels (rgbaToChannels, the conversion the CLI's decoder uses too). A file the browser
 * cannot decode throws a DataImportError naming it.
 */
export async function imagePixels(file: Blob, task: ImageClassificationTask, name: string): Promise<Uint8Array> {
	let bitmap: ImageBitmap;
	try {
		bitmap = await createImageBitmap(file);
	} catch {
		throw new DataImportError([`${name} could not be decoded as an image (PNG or JPEG expected)`]);
	}
	try {
		if (bitmap.width === 0 || bitmap.height === 0) throw new DataImportError([`${name} has no pixels`]);
		const canvas = new OffscreenCanvas(task.width, task.height);
		const context = canvas.getContext('2d', { willReadFrequently: true });
		if (!context) throw new Error('this browser offers no 2D canvas in a worker');
		context.fillStyle = '#ffffff';
		context.fillRect(0, 0, task.width, task.height);
		context.imageSmoothingEnabled = true;
		context.imageSmoothingQuality = 'high';
		context.drawImage(bitmap, 0, 0, task.width, task.height);
		const { data } = context.getImageData(0, 0, task.width, task.height);
		return rgbaToChannels(data, task.width, task.height, task.channels);
	} finally {
		bitmap.close();
	}
}
