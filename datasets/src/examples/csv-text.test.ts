import { describe, expect, it } from 'vitest';
import { csvCell, csvLine, csvText, parseCsvLine } from './csv-text';

describe('csv text', () => {
	it('quotes only cells that need it', () => {
		expect(csvCell('mean radius')).toBe('mean radius');
		expect(csvCell('od280/od315')).toBe('od280/od315');
		expect(csvCell('a,b')).toBe('"a,b"');
		expect(csvCell('say "hi"')).toBe('"say ""hi"""');
		expect(csvCell(' padded')).toBe('" padded"');
		expect(csvCell(151)).toBe('151');
		expect(csvCell(0.07871)).toBe('0.07871');
		expect(() => csvCell(Number.NaN)).toThrow('cannot write NaN');
	});

	it('writes a header and rows, one line each', () => {
		expect(csvText(['x', 'label'], [[1.5, 'a'], [2, 'b,c']])).toBe('x,label\n1.5,a\n2,"b,c"\n');
	});

	it('reads back what it writes', () => {
		const cells = ['plain', 'a,b', 'say "hi"', '', ' edge '];
		expect(parseCsvLine(csvLine(cells))).toEqual(cells);
		expect(parseCsvLine('a,,b,')).toEqual(['a', '', 'b', '']);
		expect(() => parseCsvLine('"open')).toThrow('unterminated quote');
		expect(() => parseCsvLine('"a"b,c')).toThrow('text after a closing quote');
	});
});
