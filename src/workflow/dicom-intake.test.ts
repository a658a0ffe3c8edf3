import { dicomIntakeSuite } from './dicom-intake.suite.js';

dicomIntakeSuite('sqlite');
