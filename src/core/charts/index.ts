// Charts rendered as SVG and converted to PNG with sharp: run artifacts and model cards.
export { cellColour, confusionMatrixLayout, confusionMatrixSvg, renderConfusionMatrixPng, type ConfusionMatrixOptions } from './confusion-matrix.js';
export { PALETTE, lineChartLayout, lineChartSvg, niceTicks, renderChartsPng, renderLineChartPng, type LineChartOptions, type Series } from './line-chart.js';
export { svgToPng } from './svg.js';
export { renderTablePng, tableSvg, type TableOptions } from './table.js';
