// The same DICOM intake suite with every instance prepared in worker threads, as `secondread serve` runs it:
// refusals, de-identification, the index and the sealed origin must not depend on where preparation ran.
import { dicomIntakeSuite } from './dicom-intake.suite.js';

dicomIntakeSuite('sqlite', { workers: 2 });
