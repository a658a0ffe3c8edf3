// The readable form of a validation report (`data validate` without --json).
import { SECONDREAD_CLASSES } from '../classes.js';
import { SPLITS } from '../datasets/types.js';
import { renderTable } from './table.js';
import type { ValidationReport } from './validate.js';

export function countsTable(counts: ValidationReport['counts'], finalEval?: ValidationReport['finalEval']): string {
  const rows: (string | number)[][] = SECONDREAD_CLASSES.filter((c) => SPLITS.some((s) => counts[s][c] > 0)).map((c) => {
    const n = SPLITS.map((s) => counts[s][c]);
    return [c, ...n, n.reduce((a, b) => a + b, 0)];
  });
  const totals = SPLITS.map((s) => SECONDREAD_CLASSES.reduce((n, c) => n + counts[s][c], 0));
  rows.push(['total', ...totals, totals.reduce((a, b) => a + b, 0)]);
  if (finalEval) rows.push(['  of which final_eval', ...SPLITS.map((s) => finalEval[s]), SPLITS.reduce((n, s) => n + finalEval[s], 0)]);
  return renderTable(['class', ...SPLITS, 'all'], rows);
}

export function formatValidationReport(r: ValidationReport): string {
  const f = (x: number) => x.toFixed(1);
  const stats = renderTable(
    ['class', 'images', 'width min..max', 'height min..max', 'mean KiB', 'intensity mean', 'intensity std'],
    SECONDREAD_CLASSES.filter((c) => r.classStats[c]).map((c) => {
      const s = r.classStats[c]!;
      return [
        c,
        s.images,
        `${s.width.min}..${s.width.max}`,
        `${s.height.min}..${s.height.max}`,
        f(s.bytes.mean / 1024),
        f(s.meanIntensity.mean),
        f(s.stdIntensity.mean),
      ];
    }),
  );
  const agreement = r.readerAgreement
    ? [
        '',
        `reader agreement (boxes matched at IoU ≥ ${r.readerAgreement.iou}; readers per image: ${r.readerAgreement.readersPerImage.join(', ')}):`,
        renderTable(
          ['class', 'reader boxes', 'images', 'pairwise F1', "Fleiss' kappa"],
          r.readerAgreement.classes.map((c) => [
            c.class,
            c.boxes,
            c.images,
            c.pairF1 === null ? '-' : c.pairF1.toFixed(3),
            c.kappa === null ? '-' : c.kappa.toFixed(3),
          ]),
        ),
      ]
    : [];
  const issues = r.issues.length === 0 ? ['  none'] : r.issues.map((i) => `  ${i.level === 'error' ? 'ERROR  ' : 'warning'} ${i.message}`);
  return [
    `dataset version ${r.version}: ${r.images} images — ${r.ok ? 'OK' : 'INVALID'}`,
    '',
    countsTable(r.counts, r.finalEval),
    '',
    stats,
    '',
    ...agreement,
    '',
    `duplicates: ${r.duplicates.length}   leaks: ${r.leaks.length}`,
    'issues:',
    ...issues,
  ].join('\n');
}
