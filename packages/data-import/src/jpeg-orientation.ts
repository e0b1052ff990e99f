/**
 * The EXIF orientation (1..8) of a JPEG's APP1 block, or 1. Browsers apply it when they decode
 * (createImageBitmap's default), so the Node path applies it too: a phone photo is the same
 * picture in the page and in the CLI.
 */
export function exifOrientation(exif: Uint8Array | undefined): number {
	if (!exif || exif.length < 8) return 1;
	// jpeg-js hands over the block from the second NUL of "Exif\0\0"; skip to the TIFF header.
	let base = 0;
	while (base < 2 && exif[base] === 0) base++;
	const view = new DataView(exif.buffer, exif.byteOffset, exif.byteLength);
	if (base + 8 > exif.length) return 1;
	const order = view.getUint16(base);
	const little = order === 0x4949;
	if (!little && order !== 0x4d4d) return 1;
	const ifd = base + view.getUint32(base + 4, little);
	if (ifd + 2 > exif.length) return 1;
	const entries = view.getUint16(ifd, little);
	for (let e = 0; e < entries; e++) {
		const at = ifd + 2 + e * 12;
		if (at + 12 > exif.length) return 1;
		if (view.getUint16(at, little) === 0x0112) {
			const value = view.getUint16(at + 8, little);
			return value >= 1 && value <= 8 ? value : 1;
		}
	}
	return 1;
}

/** Turns interleaved pixels upright for an EXIF orientation; 5..8 swap width and height. */
export function applyOrientation(
	pixels: Uint8Array,
	width: number,
	height: number,
	channels: number,
	orientation: number
): { pixels: Uint8Array; width: number; height: number } {
	if (orientation <= 1 || orientation > 8) return { pixels, width, height };
	const swap = orientation >= 5;
	const outWidth = swap ? height : width;
	const outHeight = swap ? width : height;
	const out = new Uint8Array(pixels.length);
	for (let y = 0; y < outHeight; y++) {
		for (let x = 0; x < outWidth; x++) {
			let sx: number;
			let sy: number;
			switch (orientation) {
				case 2: [sx, sy] = [width - 1 - x, y]; break;
				case 3: [sx, sy] = [width - 1 - x, height - 1 - y]; break;
				case 4: [sx, sy] = [x, height - 1 - y]; break;
				case 5: [sx, sy] = [y, x]; break;
				case 6: [sx, sy] = [y, height - 1 - x]; break;
				case 7: [sx, sy] = [width - 1 - y, height - 1 - x]; break;
				default: [sx, sy] = [width - 1 - y, x]; break;
			}
			const from = (sy * width + sx) * channels;
			const to = (y * outWidth + x) * channels;
			for (let c = 0; c < channels; c++) out[to + c] = pixels[from + c];
		}
	}
	return { pixels: out, width: outWidth, height: outHeight };
}
