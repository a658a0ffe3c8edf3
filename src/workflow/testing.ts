// Test helpers of the workflow (no vitest import, so any tier can use them): a fake model reader with
// scripted answers, model reads built from a class and a confidence, and a fixture with a database of
// either dialect, a filesystem object store and one user per role.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CLASS_MODALITY, classesOf, type SecondreadClass } from '../data/classes.js';
import { grayPng } from '../data/images/testing.js';
import type { DbDialect } from '../storage/db.js';
import { FsObjectStore } from '../storage/fs-object-store.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import type { BoxRead, BoxReader } from './boxes.js';
import type { ModelRead, ModelReader, WorkflowServiceDeps, WorkflowUser } from './service.js';
import { WorkflowService } from './service.js';
import { type Role, UserStore } from './users.js';

/** A read whose top class is `top` with probability `p`; the rest is spread over the modality's other classes. */
export function modelRead(top: SecondreadClass, p: number, o: { model?: string; version?: number } = {}): ModelRead {
  const others = classesOf(CLASS_MODALITY[top]).filter((c) => c !== top);
  const rest = (1 - p) / others.length;
  return {
    model: o.model ?? 'cxr-oct',
    version: o.version ?? 1,
    top: { class: top, probability: p },
    predictions: [{ class: top, probability: p }, ...others.map((c) => ({ class: c, probability: rest }))],
  };
}

/** Answers what the test scripted for the next study (or the default), and records what it was asked. */
export class FakeModelReader implements ModelReader {
  readonly calls: { studyId: string; bytes: number }[] = [];
  private readonly queue: (ModelRead | Error)[] = [];

  constructor(private fallback: ModelRead | Error = modelRead('lung-normal', 0.99)) {}

  /** The answer to the next read (FIFO); afterwards the fallback again. */
  next(answer: ModelRead | Error): this {
    this.queue.push(answer);
    return this;
  }

  read(image: Uint8Array, o: { studyId: string }): Promise<ModelRead> {
    this.calls.push({ studyId: o.studyId, bytes: image.length });
    const a = this.queue.shift() ?? this.fallback;
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
  }
}

/** Three boxes of a CXR detector (original image pixels), best first. */
export function boxRead(o: { model?: string; version?: number } = {}): BoxRead {
  return {
    model: o.model ?? 'cxr-det',
    version: o.version ?? 2,
    detections: [
      { class: 'Cardiomegaly', score: 0.91, box: [3, 8, 13, 14] },
      { class: 'Nodule/Mass', score: 0.62, box: [1.5, 2, 4.25, 5] },
      { class: 'Pleural effusion', score: 0.4, box: [10, 11, 16, 16] },
    ],
  };
}

/** A detector with scripted answers (FIFO, then the fallback); records what it was asked. */
export class FakeBoxReader implements BoxReader {
  readonly calls: string[] = [];
  private readonly queue: (BoxRead | Error)[] = [];

  constructor(private fallback: BoxRead | Error = boxRead()) {}

  next(answer: BoxRead | Error): this {
    this.queue.push(answer);
    return this;
  }

  read(_image: Uint8Array, o: { studyId: string }): Promise<BoxRead> {
    this.calls.push(o.studyId);
    const a = this.queue.shift() ?? this.fallback;
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
  }
}

export interface WorkflowFixture {
  t: TestDatabase;
  objects: FsObjectStore;
  model: FakeModelReader;
  users: Record<'reader' | 'reader2' | 'adjudicator' | 'adjudicator2' | 'engineer' | 'admin', WorkflowUser>;
  service(o?: Partial<WorkflowServiceDeps>): WorkflowService;
  image(seed?: number): Promise<Buffer>;
  close(): Promise<void>;
}

export async function openWorkflowFixture(dialect: DbDialect = 'sqlite'): Promise<WorkflowFixture> {
  const t = await openTestDatabase(dialect);
  const dir = mkdtempSync(join(tmpdir(), 'secondread-wf-'));
  const objects = new FsObjectStore(join(dir, 'objects'));
  const store = new UserStore(t.db);
  const add = async (name: string, role: Role): Promise<WorkflowUser> => {
    const { user } = await store.addUser({ name, role });
    return { id: user.id, name: user.name, role: user.role };
  };
  const users = {
    reader: await add('reader-a', 'reader'),
    reader2: await add('reader-c', 'reader'),
    adjudicator: await add('reader-b', 'adjudicator'),
    adjudicator2: await add('reader-d', 'adjudicator'),
    engineer: await add('eng', 'ml-engineer'),
    admin: await add('boss', 'admin'),
  };
  const model = new FakeModelReader();
  return {
    t,
    objects,
    model,
    users,
    service: (o = {}) => new WorkflowService({ db: t.db, objects, model, ...o }),
    image: (seed = 1) => grayPng(16, 16, (x, y) => (x * 7 + y * 3 + seed * 11) % 256),
    close: async () => {
      await objects.close();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
