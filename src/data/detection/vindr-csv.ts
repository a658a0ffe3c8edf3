// The VinDr-CXR annotations sheet (annotations_train.csv; VinBigData's train.csv): one row per box per
// radiologist, `image_id, class_name, class_id, rad_id, x_min, y_min, x_max, y_max`, 'No finding' rows
// (class_id 14) with empty coordinates. Written here; read by the ETL (data/etl/labels.ts) like the real one.
import { formatCsv } from '../etl/csv.js';
import { ANNOTATION_COLUMNS, type ReaderAnnotationRow } from './types.js';

export function formatAnnotationsCsv(rows: readonly ReaderAnnotationRow[]): string {
  return formatCsv(
    ANNOTATION_COLUMNS,
    rows.map((r) => [r.imageId, r.className, r.classId, r.radId, r.xMin, r.yMin, r.xMax, r.yMax]),
  );
}
