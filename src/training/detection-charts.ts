// The detector's evaluation as pictures for the run's artifacts: precision–recall curves per class
// (VOC, IoU > 0.4, the VinBigData protocol), the FROC curve, and the per-class table of APs.
import { type LineChartOptions, renderChartsPng, renderTablePng } from '../core/charts/index.js';
import type { DetectionReport } from './metrics/detection.js';

const PER_CHART = 7; // the palette has 8 colours; 14 classes go on two charts

function ap(v: number | null): string {
  return v === null ? '–' : v.toFixed(3);
}

export function prCurveCharts(r: DetectionReport): LineChartOptions[] {
  const charts: LineChartOptions[] = [];
  for (let i = 0; i < r.curves.length; i += PER_CHART) {
    charts.push({
      title: `Precision–recall, IoU > 0.4 (${i / PER_CHART + 1}/${Math.ceil(r.curves.length / PER_CHART)})`,
      xLabel: 'recall',
      yLabel: 'precision',
      yMin: 0,
      yMax: 1,
      series: r.curves.slice(i, i + PER_CHART).map((c) => ({
        name: `${c.class} (AP ${c.points.length ? ap(r.perClass[c.classId]!.ap40) : '0'})`,
        points: [{ x: 0, y: c.points[0]?.precision ?? 0 }, ...c.points.map((p) => ({ x: p.recall, y: p.precision }))],
      })),
    });
  }
  charts.push({
    title: `FROC (IoU > ${r.froc.iou}), mean sensitivity at 0.5–4 FP/image ${r.froc.mean.toFixed(3)}`,
    xLabel: 'false positives per image',
    yLabel: 'sensitivity',
    yMin: 0,
    yMax: 1,
    series: [{ name: 'all findings', points: r.froc.curve.filter((p) => p.fpPerImage <= 8).map((p) => ({ x: p.fpPerImage, y: p.sensitivity })) }],
  });
  return charts;
}

export async function detectionChartsPng(r: DetectionReport): Promise<{ curves: Buffer; table: Buffer }> {
  const rows = r.perClass.map((c) => [c.class, String(c.truthBoxes), String(c.predictedBoxes), ap(c.ap40), ap(c.ap50), ap(c.apCoco)]);
  rows.push(['mean (classes with truth)', String(r.truthBoxes), String(r.predictedBoxes), ap(r.map40), ap(r.map50), ap(r.mapCoco)]);
  const curves = await renderChartsPng(prCurveCharts(r));
  const table = await renderTablePng({
    title: `Detection on ${r.images} images — VOC AP@0.4 (VinBigData), AP@0.5, COCO AP@[.5:.95]`,
    header: ['class', 'truth', 'predicted', 'AP@0.4', 'AP@0.5', 'COCO AP'],
    rows,
  });
  return { curves, table };
}
