// The same suite on a real PostgreSQL (skipped with a notice when none answers, failed under CI).
import { describe } from 'vitest';

import { postgresUrlForTests } from '../../test/integration/helpers/postgres.js';
import { dicomIntakeSuite } from './dicom-intake.suite.js';

const url = await postgresUrlForTests();
if (url) dicomIntakeSuite('postgres');
else describe.skip('DICOM intake on PostgreSQL (no server)', () => undefined);
