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
