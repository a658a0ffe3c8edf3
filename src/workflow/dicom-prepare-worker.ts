// Worker-thread entry of the DICOM preparer (dicom-prepare.ts): prepares one instance or upload per task. The
// results are copied back, not transferred: sharp's output buffers live in native memory that cannot be detached,
// and a copy of a few megabytes costs a few milliseconds against the 100+ ms of work it moved off the loop.
import { serveWorkerTasks } from '../core/workers.js';
import { type DicomPrepareResult, type DicomPrepareTask, prepareInstance } from './dicom-prepare.js';
import { prepareStudyImage } from './study-image.js';

serveWorkerTasks<DicomPrepareTask, DicomPrepareResult>(async (task) => {
  if (task.kind === 'upload') return { result: await prepareStudyImage(task.bytes, task.settings) };
  return { result: await prepareInstance(task.bytes, task.settings, task.studyInstanceUid === undefined ? {} : { studyInstanceUid: task.studyInstanceUid }) };
});
