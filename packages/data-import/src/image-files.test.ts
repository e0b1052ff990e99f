import type { ImageClassificationTask } from '@qflare/protocol';
import { describe, expect, it } from 'vitest';
import { DataImportError } from './errors';
import { labelImageFiles, skippedImageFiles } from './image-files';

const task: ImageClassificationTask = { kind: 'image-classification', classes: ['cat', 'dog'], width: 8, height: 8, channels: 3 };

function problemsOf(run: () => unknown): string[] {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(DataImportError);
		return (error as DataImportError).problems;
	}
	throw new Error('expected a DataImportError');
}

describe('labelImageFiles: one sub-folder per class', () => {
	it('labels each image by its folder, sorted by path, leaving out other and system files', () => {
		const paths = ['pets/dog/b.JPG', 'pets/cat/a.png', 'pets/cat/notes.txt', 'pets/.DS_Store', 'pets/dog/._b.JPG', 'pets\\dog\\c.jpeg'];
		expect(labelImageFiles(paths, task)).toEqual([
			{ path: 'pets/cat/a.png', label: 'cat' },
			{ path: 'pets/dog/b.JPG', label: 'dog' },
			{ path: 'pets/dog/c.jpeg', label: 'dog' }
		]);
		expect(skippedImageFiles(paths)).toEqual(['pets/cat/notes.txt (not a PNG or JPEG file)']);
	});

	it('rejects a class folder the task does not have, and images at the wrong depth', () => {
		expect(problemsOf(() => labelImageFiles(['pets/cat/a.png', 'pets/bird/b.png', 'pets/bird/c.png', 'pets/Dog/d.png', 'pets/e.png', 'pets/cat/x/f.png'], task))).toEqual([
			'the folder pets/bird is not one of the classes "cat", "dog"',
			'the folder pets/Dog is not one of the classes "cat", "dog" (did you mean "dog"? class names are case-sensitive)',
			'pets/e.png is not inside a class folder: expected <folder>/<class>/<file>, one sub-folder per class ("cat", "dog")',
			'pets/cat/x/f.png is not inside a class folder: expected <folder>/<class>/<file>, one sub-folder per class ("cat", "dog")'
		]);
	});

	it('rejects images from two picked folders, and a folder without images', () => {
		expect(problemsOf(() => labelImageFiles(['a/cat/1.png', 'b/dog/2.png'], task))).toEqual([
			'the images come from more than one folder ("a", "b"): pick one folder that holds the class folders'
		]);
		expect(problemsOf(() => labelImageFiles(['pets/cat/readme.md', 'pets/cat/a.webp'], task))).toEqual([
			'no PNG or JPEG images found; skipped 2 other files, e.g. pets/cat/a.webp (not a PNG or JPEG file)'
		]);
	});
});

describe('labelImageFiles: image files plus a labels CSV', () => {
	const paths = ['shots/img1.png', 'shots/day2/img2.jpg', 'shots/labels.csv'];

	it('labels files named by bare name, path inside the folder, or full path', () => {
		const labels = 'filename,label\nimg1.png,dog\nday2/img2.jpg,cat\n';
		expect(labelImageFiles(paths, task, labels)).toEqual([
			{ path: 'shots/day2/img2.jpg', label: 'cat' },
			{ path: 'shots/img1.png', label: 'dog' }
		]);
		expect(labelImageFiles(paths, task, 'Filename,Label\r\nshots/img1.png,dog\r\nimg2.jpg,cat\r\n')).toHaveLength(2);
		expect(skippedImageFiles(paths, ['shots/labels.csv'])).toEqual([]);
	});

	it('names unknown files, labels outside the classes, duplicates, ambiguous names and unlabelled images', () => {
		const files = ['s/a/x.png', 's/b/x.png', 's/y.png', 's/z.png'];
		const labels = 'filename,label\nx.png,cat\nmissing.png,cat\ny.png,bird\nz.png,dog\nz.png,cat\n';
		expect(problemsOf(() => labelImageFiles(files, task, labels))).toEqual([
			'the labels CSV row 2 names "x.png", which matches 2 files ("s/a/x.png", "s/b/x.png"): give the path inside the folder',
			'the labels CSV row 3 names "missing.png", which is not among the picked image files',
			'the labels CSV row 4: the label "bird" is not one of the classes "cat", "dog"',
			'the labels CSV rows 5 and 6 both label "s/z.png"',
			's/a/x.png has no row in the labels CSV',
			's/b/x.png has no row in the labels CSV',
			's/y.png has no row in the labels CSV'
		]);
	});

	it('needs the header filename,label', () => {
		expect(problemsOf(() => labelImageFiles(paths, task, 'img1.png,dog\nimg2.jpg,cat'))).toEqual([
			'the labels CSV needs a header row with the columns "filename" and "label"; its header is "img1.png", "dog"'
		]);
	});
});
