// The labels sheets reader and the class rule, on hand-written sheets: quoting, column order, RSNA
// with and without its class sheet, VinDr's per-reader rows, and the strict "normal" rule.
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../core/errors.js';
import { parseCsv } from './csv.js';
import { decideClass, imageIdOf, readLabelSheets } from './labels.js';

describe('parseCsv', () => {
  it('reads quotes, escaped quotes, commas and newlines inside quotes, CRLF, a BOM and trailing blank lines', () => {
    const t = parseCsv('\ufeffa,b,c\r\n1,"x, y","say ""hi"""\r\n2,"two\nlines",\n\n', 'f.csv');
    expect(t.header).toEqual(['a', 'b', 'c']);
    expect(t.rows).toEqual([
      { a: '1', b: 'x, y', c: 'say "hi"' },
      { a: '2', b: 'two\nlines', c: '' },
    ]);
  });

  it('a row with the wrong number of fields or an open quote names the line', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n', 'f.csv')).toThrow(/f\.csv: line 3 has 1 fields, the header has 2/);
    expect(() => parseCsv('a,b\n1,"2\n', 'f.csv')).toThrow(/line 2: a quoted field is not closed/);
    expect(() => parseCsv('', 'f.csv')).toThrow(ValidationError);
  });
});

describe('readLabelSheets + decideClass', () => {
  const rules = [
    { source: 'Lung Opacity', class: 'lung-opacity' as const },
    { source: 'Normal', class: 'lung-normal' as const },
  ];

  it('rsna without the class sheet: Target=1/Target=0, boxes from x,y,width,height', () => {
    const s = readLabelSheets('rsna', { name: 'l.csv', text: 'patientId,x,y,width,height,Target\na,10,20,30,40,1\na,0,0,5,5,1\nb,,,,,0\n' });
    expect(s.rows).toBe(3);
    expect(s.byImage.get('a')).toEqual({
      labels: new Set(['Target=1']),
      readers: new Set(),
      boxes: [
        { label: 'Lung Opacity', reader: null, box: [10, 20, 40, 60] },
        { label: 'Lung Opacity', reader: null, box: [0, 0, 5, 5] },
      ],
    });
    expect(decideClass('rsna', s.byImage.get('a')!, [{ source: 'Target=1', class: 'lung-opacity' }])).toEqual({
      kind: 'class',
      class: 'lung-opacity',
      source: 'Target=1',
    });
    // Target=0 alone cannot tell Normal from "not normal": excluded unless a rule says otherwise.
    expect(decideClass('rsna', s.byImage.get('b')!, rules)).toEqual({ kind: 'excluded', reason: "no class rule for 'Target=0'" });
    expect(() => readLabelSheets('rsna', { name: 'l.csv', text: 'patientId,x,y,width,height,Target\na,1,1,0,5,1\n' })).toThrow(/positive width and height/);
    expect(() => readLabelSheets('rsna', { name: 'l.csv', text: 'patientId,x,y,width,height,Target\na,,,,,yes\n' })).toThrow(/Target must be 0 or 1/);
  });

  it('rsna class sheet: repeated rows must agree; disagreement with Target excludes the image', () => {
    const main = { name: 'l.csv', text: 'patientId,x,y,width,height,Target\na,1,1,2,2,1\na,3,3,2,2,1\nb,,,,,0\nc,,,,,0\n' };
    const s = readLabelSheets('rsna', main, { name: 'i.csv', text: 'patientId,class\na,Lung Opacity\na,Lung Opacity\nb,Normal\nc,Lung Opacity\nd,Normal\n' });
    expect(decideClass('rsna', s.byImage.get('a')!, rules)).toMatchObject({ kind: 'class', class: 'lung-opacity' });
    expect(decideClass('rsna', s.byImage.get('b')!, rules)).toMatchObject({ kind: 'class', class: 'lung-normal' });
    expect(decideClass('rsna', s.byImage.get('c')!, rules)).toEqual({
      kind: 'excluded',
      reason: "labels disagree: l.csv says Target=0 but i.csv says 'Lung Opacity'",
    });
    expect(s.byImage.get('d')!.conflict).toBe('listed in i.csv but not in l.csv');
    expect(() => readLabelSheets('rsna', main, { name: 'i.csv', text: 'patientId,class\na,Lung Opacity\na,Normal\n' })).toThrow(
      /'a' is 'Lung Opacity' and 'Normal'/,
    );
  });

  it('vindr in the PhysioNet column order (no class_id): any order of columns is read by name', () => {
    const text = 'image_id,rad_id,x_min,y_min,x_max,y_max,class_name\nx,R1,,,,,No finding\nx,R2,1,2,3,4,Nodule/Mass\ny,R1,nan,nan,nan,nan,No finding\n';
    const s = readLabelSheets('vindr', { name: 'a.csv', text });
    expect(s.byImage.get('x')!.boxes).toEqual([{ label: 'Nodule/Mass', reader: 'R2', box: [1, 2, 3, 4] }]);
    const vr = [
      { source: 'Nodule/Mass', class: 'lung-opacity' as const },
      { source: 'No finding', class: 'lung-normal' as const },
    ];
    // One reader's nodule outweighs the others' "No finding"; a unanimous "No finding" is normal.
    expect(decideClass('vindr', s.byImage.get('x')!, vr)).toMatchObject({ class: 'lung-opacity', source: 'Nodule/Mass' });
    expect(decideClass('vindr', s.byImage.get('y')!, vr)).toMatchObject({ class: 'lung-normal', source: 'No finding' });
    expect(decideClass('vindr', s.byImage.get('x')!, [vr[1]!])).toEqual({ kind: 'excluded', reason: "no class rule for 'Nodule/Mass'" });
    expect(() => readLabelSheets('vindr', { name: 'a.csv', text: 'image_id,class_name\nx,No finding\n' })).toThrow(/a\.csv: missing columns rad_id, x_min/);
    expect(() => readLabelSheets('vindr', { name: 'a.csv', text: 'image_id,rad_id,x_min,y_min,x_max,y_max,class_name\nx,R1,5,5,4,9,Nodule/Mass\n' })).toThrow(
      /x_max\/y_max must be greater/,
    );
  });

  it('the first matching rule in config order wins', () => {
    const image = { labels: new Set(['Consolidation', 'Lung Opacity']), readers: new Set<string>(), boxes: [] };
    expect(
      decideClass('vindr', image, [
        { source: 'Consolidation', class: 'lung-viral-pneumonia' },
        { source: 'Lung Opacity', class: 'lung-opacity' },
      ]),
    ).toMatchObject({ class: 'lung-viral-pneumonia' });
  });

  it('image ids are file base names without the extension', () => {
    expect(imageIdOf('stage_2_train_images/0004cfab-14fd.dcm')).toBe('0004cfab-14fd');
    expect(imageIdOf('train/000434271f63a053c4128a0ba6352c7f.dicom')).toBe('000434271f63a053c4128a0ba6352c7f');
  });
});
