// SOP classes that are DICOM objects but not images: refused with `dicom_not_an_image` and their
// name, so a PACS administrator sees at once that a report or a structure set was routed here.

const NOT_IMAGES: [prefix: string, name: string][] = [
  ['1.2.840.10008.5.1.4.1.1.88.', 'structured report'],
  ['1.2.840.10008.5.1.4.1.1.481.', 'radiotherapy object (RT structure set, plan, dose…)'],
  ['1.2.840.10008.5.1.4.1.1.104.', 'encapsulated document (PDF, CDA, STL…)'],
  ['1.2.840.10008.5.1.4.1.1.11.', 'presentation state'],
  ['1.2.840.10008.5.1.4.1.1.9.', 'waveform'],
  ['1.2.840.10008.5.1.4.1.1.66', 'raw data, registration or segmentation object'],
  ['1.2.840.10008.5.1.4.1.1.67', 'real world value mapping'],
  ['1.2.840.10008.5.1.4.1.1.78.', 'ophthalmic measurement'],
  ['1.2.840.10008.5.1.4.1.1.79.', 'macular grid thickness report'],
  ['1.2.840.10008.5.1.4.1.1.80.', 'ophthalmic thickness map'],
  ['1.2.840.10008.5.1.4.1.1.90.', 'content assessment results'],
  ['1.2.840.10008.5.1.4.1.1.200.', 'protocol'],
  ['1.2.840.10008.5.1.4.34.', 'radiotherapy workflow object'],
];

/** The kind of non-image object a SOP class names, or null for an image (or an unknown) class. */
export function nonImageKind(sopClassUid: string): string | null {
  for (const [prefix, name] of NOT_IMAGES) if (sopClassUid === prefix.replace(/\.$/, '') || sopClassUid.startsWith(prefix)) return name;
  return null;
}
