// Every CLI command, in the order `secondread --help` lists them. One module per command (group).
import type { Command } from 'commander';

import { registerAudit } from './audit.js';
import { registerBackup } from './backup.js';
import { registerDataBuild } from './data-build.js';
import { registerDataCache } from './data-cache.js';
import { registerDataExport } from './data-export.js';
import { registerDataFeedback } from './data-feedback.js';
import { registerDataImport } from './data-import.js';
import { registerDataLs } from './data-ls.js';
import { registerDataStats } from './data-stats.js';
import { registerDataSynth } from './data-synth.js';
import { registerDataValidate } from './data-validate.js';
import { registerDicom } from './dicom.js';
import { registerDrift } from './drift.js';
import { registerMaintenance } from './maintenance.js';
import { registerModels } from './models.js';
import { registerPolicy } from './policy.js';
import { registerRetrain } from './retrain.js';
import { registerRollout } from './rollout.js';
import { registerRuns } from './runs.js';
import { registerServe } from './serve.js';
import { registerSimulate } from './simulate.js';
import { registerStart } from './start.js';
import { registerSweep } from './sweep.js';
import { registerTrain } from './train.js';
import { registerUsers } from './users.js';
import { registerWorker } from './worker.js';

export function registerCommands(program: Command): void {
  registerStart(program);
  registerDataSynth(program);
  registerDataBuild(program);
  registerDataValidate(program);
  registerDataCache(program);
  registerDataLs(program);
  registerDataStats(program);
  registerDataFeedback(program);
  registerDataExport(program);
  registerDataImport(program);
  registerTrain(program);
  registerSweep(program);
  registerRuns(program);
  registerModels(program);
  registerRetrain(program);
  registerWorker(program);
  registerServe(program);
  registerDicom(program);
  registerUsers(program);
  registerAudit(program);
  registerBackup(program);
  registerMaintenance(program);
  registerSimulate(program);
  registerPolicy(program);
  registerDrift(program);
  registerRollout(program);
}
