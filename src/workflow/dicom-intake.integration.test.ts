// The same suite on a real PostgreSQL (skipped with a notice when none answers, failed under CI).
import { describe } from 'vitest';

import { postgresUrlForTests } from '../../test/integration/helpers/postgres.js';
import { dicomIntakeSuite } from './dicom-intake.suite.js';

const url = await postgresUrlForTests();
describe.skipIf(!url)('PostgreSQL', () => dicomIntakeSuite('postgres'));
