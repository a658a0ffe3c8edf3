// The object store contract: images, dataset manifests, model files and run artifacts all live here.
// Implementations: filesystem (embedded default) and S3 (MinIO, AWS). Writes are atomic: a reader
// sees either no object or the whole object, never a half-written one.
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified?: Date;
  etag?: string;
  contentType?: string;
}

export interface PutOptions {
  contentType?: string;
  /** Fail with ConflictError when the key already exists (conditional put / create-only). */
  ifNotExists?: boolean;
}

export type ObjectBody = Readable | Uint8Array | string;

export interface ObjectStore {
  /** Writes the whole body under `key`, atomically. */
  put(key: string, body: ObjectBody, opts?: PutOptions): Promise<ObjectInfo>;
  /** A stream of the object's bytes; NotFoundError when absent. */
  get(key: string): Promise<Readable>;
  /** The object's bytes in memory (small objects only); NotFoundError when absent. */
  getBytes(key: string): Promise<Buffer>;
  /** Size and metadata, or undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in lexicographic key order, across all pages. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Removes the object; deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** A human-readable location, e.g. `file:///…/objects` or `s3://bucket/prefix`. */
  describe(): string;
  close(): Promise<void>;
}
