import type { ImageClassificationTask, TabularTask, TimeSeriesTask } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32';
import { DataImportError } from './errors';
import { prepareImages } from './images';
import { prepareCsv } from './prepare-csv';
import { decodePrepared, encodePrepared } from './prepared-codec';
import type { PreparedData } from './prepared-data';

const tabular: TabularTask = {
	kind: 'tabular',
	features: [
		{ name: 'dose', type: 'numeric' },
		{ name: 'site', type: 'categorical', values: ['north', 'south'] }
	],
	target: 'outcome',
	objective: { type: 'classification', classes: ['no', 'yes'] }
};
const csv = ['dose,site,outcome', ...Array.from({ length: 20 }, (_, i) => `${(i * 1.25).toFixed(2)},${i % 3 ? 'north' : 'south'},${i % 2 ? 'yes' : 'no'}`)].join('\n');

function withoutPreview(data: PreparedData): PreparedData {
	return { ...data, summary: { ...data.summary, preview: [] } };
}

describe('encodePrepared / decodePrepared', () => {
	it('crc32 is the IEEE CRC-32', () => {
		expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
	});

	it('round-trips tabular data with its hold-out, dropping only the preview text', () => {
		const data = prepareCsv(csv, tabular, { holdOutFraction: 0.25, seed: 9 }, 'site.csv');
		const bytes = encodePrepared(data);
		expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe('QFDP');
		const back = decodePrepared(bytes);
		expect(back).toEqual(withoutPreview(data));
		expect(back.train.inputs).toBeInstanceOf(Float32Array);
		expect(back.train.targets).toBeInstanceOf(Uint8Array);
		expect(back.holdOut!.count).toBe(5);
	});

	it('round-trips time series and images, and reads from an unaligned buffer', () => {
		const series: TimeSeriesTask = { kind: 'time-series', timeColumn: 'day', valueColumns: ['load'], target: 'load', window: 3, horizon: 2, loss: 'mae' };
		const text = ['day,load', ...Array.from({ length: 30 }, (_, i) => `${i},${Math.sin(i).toFixed(4)}`)].join('\n');
		const seriesData = prepareCsv(text, series, { holdOutFraction: 0.1, seed: 1 });
		const encoded = encodePrepared(seriesData);
		const shifted = new Uint8Array(encoded.length + 1);
		shifted.set(encoded, 1);
		expect(decodePrepared(shifted.subarray(1))).toEqual(withoutPreview(seriesData));

		const task: ImageClassificationTask = { kind: 'image-classification', classes: ['a', 'b'], width: 4, height: 4, channels: 3 };
		const images = prepareImages(
			[0, 1, 2].map((i) => ({ name: `f/a/${i}.png`, label: i === 1 ? 'b' : 'a', pixels: new Uint8Array(48).fill(i * 40) })),
			task,
			{ holdOutFraction: 0, seed: 1 }
		);
		const back = decodePrepared(encodePrepared(images));
		expect(back).toEqual(withoutPreview(images));
		expect(back.holdOut).toBeNull();
	});

	it('rejects a damaged file, a truncated one, another format and another version', () => {
		const bytes = encodePrepared(prepareCsv(csv, tabular, { holdOutFraction: 0, seed: 1 }));
		const expectDamaged = (damaged: Uint8Array, why: RegExp) => {
			try {
				decodePrepared(damaged);
			} catch (error) {
				expect(error).toBeInstanceOf(DataImportError);
				expect((error as DataImportError).problems[0]).toMatch(why);
				expect((error as DataImportError).problems[0]).toMatch(/import the data again$/);
				return;
			}
			throw new Error('expected a DataImportError');
		};
		const flipped = bytes.slice();
		flipped[bytes.length - 3] ^= 0x01;
		expectDamaged(flipped, /checksum mismatch/);
		const header = bytes.slice();
		header[20] ^= 0x20;
		expectDamaged(header, /checksum mismatch/);
		expectDamaged(bytes.slice(0, bytes.length - 8), /checksum mismatch/);
		expectDamaged(bytes.slice(0, 10), /not a prepared data file/);
		expectDamaged(new TextEncoder().encode('dose,site,outcome\n1,north,no'), /not a prepared data file/);
		const newer = bytes.slice();
		newer[4] = 2;
		expectDamaged(newer, /version 2, expected 1/);
	});
});
