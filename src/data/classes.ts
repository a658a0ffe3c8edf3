// The nine secondread classes (design: "The nine classes"). Every layer that names a class imports
// it from here so a typo is a type error, not a silently empty bucket.

export const SECONDREAD_CLASSES = [
  'lung-normal',
  'lung-covid',
  'lung-viral-pneumonia',
  'lung-opacity',
  'lung-tuberculosis',
  'oct-normal',
  'oct-cnv',
  'oct-dme',
  'oct-drusen',
] as const;

export type SecondreadClass = (typeof SECONDREAD_CLASSES)[number];

export const MODALITIES = ['cxr', 'oct'] as const;
export type Modality = (typeof MODALITIES)[number];

/** Which imaging modality each class belongs to (a model never confuses a CXR with an OCT). */
export const CLASS_MODALITY: Readonly<Record<SecondreadClass, Modality>> = {
  'lung-normal': 'cxr',
  'lung-covid': 'cxr',
  'lung-viral-pneumonia': 'cxr',
  'lung-opacity': 'cxr',
  'lung-tuberculosis': 'cxr',
  'oct-normal': 'oct',
  'oct-cnv': 'oct',
  'oct-dme': 'oct',
  'oct-drusen': 'oct',
};

/** The normal (no finding) class of each modality. */
export const NORMAL_CLASS: Readonly<Record<Modality, SecondreadClass>> = {
  cxr: 'lung-normal',
  oct: 'oct-normal',
};

export function isSecondreadClass(value: string): value is SecondreadClass {
  return (SECONDREAD_CLASSES as readonly string[]).includes(value);
}

export function classesOf(modality: Modality): SecondreadClass[] {
  return SECONDREAD_CLASSES.filter((c) => CLASS_MODALITY[c] === modality);
}

// The detector's classes: the 14 VinDr-CXR findings, spelled exactly as the VinDr-CXR / VinBigData
// annotation sheets spell `class_name`, in `class_id` order (0…13; the sheets give 'No finding' id 14).
// Kept here, import-free, so the viewer can name a box's class with the same list the trainer used.
export const DETECTION_CLASSES = [
  'Aortic enlargement',
  'Atelectasis',
  'Calcification',
  'Cardiomegaly',
  'Consolidation',
  'ILD',
  'Infiltration',
  'Lung Opacity',
  'Nodule/Mass',
  'Other lesion',
  'Pleural effusion',
  'Pleural thickening',
  'Pneumothorax',
  'Pulmonary fibrosis',
] as const;

export type DetectionClass = (typeof DETECTION_CLASSES)[number];

/** The VinDr label of an image without findings, and the `class_id` the sheets give it. */
export const NO_FINDING = 'No finding';
export const NO_FINDING_CLASS_ID = 14;

export function isDetectionClass(value: string): value is DetectionClass {
  return (DETECTION_CLASSES as readonly string[]).includes(value);
}
