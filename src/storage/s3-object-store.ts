// The S3 object store (AWS S3, MinIO, any S3-protocol server): key `k` is the object
// `<prefix>/k` in the bucket. Puts stream through lib-storage's Upload (multipart above one part),
// and S3 publishes an object only once it is complete, so writes are atomic by protocol.
//
// Create-only puts (`ifNotExists`) use the conditional write `If-None-Match: *` (AWS S3 since
// 2024, MinIO). For servers that ignore that header, `conditionalWrites: 'emulated'` checks with
// HEAD first and then puts: that is racy — two writers can both see "absent" and the later one
// wins — and is only meant for test servers and single-writer setups.
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { ConfigError, ConflictError, NotFoundError, SecondreadError, StorageError, StorageUnavailableError } from '../core/errors.js';
import { assertValidKey, assertValidPrefix, isValidKey } from './object-key.js';
import type { ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';

export type ConditionalWrites = 'native' | 'emulated';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'; '' for the bucket's root. */
  prefix?: string;
  /** e.g. http://127.0.0.1:9000 for MinIO; absent for AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which MinIO and most local servers need. */
  forcePathStyle?: boolean;
  /** Explicit credentials; absent: the AWS SDK's default chain (env, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** ListObjectsV2 page size (MaxKeys), 1..1000. */
  listPageSize?: number;
  /** Multipart part size in bytes (≥ 5 MiB) and parts uploaded in parallel. */
  partSize?: number;
  queueSize?: number;
  conditionalWrites?: ConditionalWrites;
}

const MIB = 1024 * 1024;

/** Parses `s3://bucket/some/prefix?conditional-writes=emulated` into bucket, prefix and options. */
export function parseS3Url(url: string): Pick<S3ObjectStoreOptions, 'bucket' | 'prefix' | 'conditionalWrites'> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`object store URL '${url}' is not a valid URL (expected s3://bucket/prefix)`);
  }
  if (u.protocol !== 's3:' || !u.hostname) throw new ConfigError(`object store URL '${url}' must look like s3://bucket/prefix`);
  const prefix = decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, '');
  if (prefix !== '') {
    try {
      assertValidKey(prefix);
    } catch (err) {
      throw new ConfigError(`object store URL '${url}' has an invalid prefix: ${(err as Error).message}`);
    }
  }
  const cw = u.searchParams.get('conditional-writes') ?? 'native';
  if (cw !== 'native' && cw !== 'emulated') {
    throw new ConfigError(`object store URL '${url}': conditional-writes must be 'native' or 'emulated', got '${cw}'`);
  }
  for (const name of u.searchParams.keys()) {
    if (name !== 'conditional-writes') throw new ConfigError(`object store URL '${url}': unknown parameter '${name}'`);
  }
  return { bucket: u.hostname, prefix, conditionalWrites: cw };
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly listPageSize: number;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly conditionalWrites: ConditionalWrites;

  constructor(opts: S3ObjectStoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.listPageSize = opts.listPageSize ?? 1000;
    this.partSize = opts.partSize ?? 8 * MIB;
    this.queueSize = opts.queueSize ?? 4;
    this.conditionalWrites = opts.conditionalWrites ?? 'native';
    if (!Number.isInteger(this.listPageSize) || this.listPageSize < 1 || this.listPageSize > 1000) {
      throw new ConfigError(`S3 list page size must be an integer in 1..1000, got ${this.listPageSize}`);
    }
    if (this.partSize < 5 * MIB) throw new ConfigError(`S3 part size must be at least 5 MiB, got ${this.partSize}`);
    this.client = new S3Client({
      region: opts.region ?? 'us-east-1',
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle ?? true,
      credentials: opts.credentials,
      // Checksums only where S3 requires them: the default (CRC32 trailers on every request) is not
      // understood by several S3-compatible servers, and TLS plus the ETag already cover transport.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private fullKey(key: string): string {
    assertValidKey(key);
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  async put(key: string, body: ObjectBody, opts: PutOptions = {}): Promise<ObjectInfo> {
    const Key = this.fullKey(key);
    if (opts.ifNotExists && this.conditionalWrites === 'emulated' && (await this.head(key))) {
      if (body instanceof Readable) body.destroy();
      throw new ConflictError(`object '${key}' already exists`, { key });
    }
    let size = 0;
    let bodyError: unknown;
    let source: Readable | Uint8Array | string = body;
    if (body instanceof Readable) {
      // Count bytes on the way through. pipeline() passes an error in the body on to the counter,
      // where Upload sees it and aborts the multipart upload, so no object appears. The body's
      // error is kept: it is the cause to report, even when the abort itself fails too.
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          cb(null, chunk);
        },
      });
      pipeline(body, counter).catch((err: unknown) => (bodyError = err));
      source = counter;
    } else {
      size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    }
    try {
      const upload = new Upload({
        client: this.client,
        partSize: this.partSize,
        queueSize: this.queueSize,
        params: {
          Bucket: this.bucket,
          Key,
          Body: source,
          ContentType: opts.contentType,
          IfNoneMatch: opts.ifNotExists && this.conditionalWrites === 'native' ? '*' : undefined,
        },
      });
      const result = await upload.done();
      return { key, size, etag: unquote(result.ETag), contentType: opts.contentType, lastModified: new Date() };
    } catch (err) {
      if (body instanceof Readable) body.destroy();
      if (opts.ifNotExists && (httpStatus(err) === 412 || errorName(err) === 'ConditionalRequestConflict')) {
        throw new ConflictError(`object '${key}' already exists`, { key });
      }
      throw wrap(bodyError ?? err, `writing object '${key}'`, key);
    }
  }

  async get(key: string): Promise<Readable> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      if (!(out.Body instanceof Readable)) throw new StorageError(`S3 returned no body stream for object '${key}'`, { key });
      return out.Body;
    } catch (err) {
      if (errorName(err) === 'NoSuchKey' || httpStatus(err) === 404) throw new NotFoundError('object', key);
      throw wrap(err, `reading object '${key}'`, key);
    }
  }

  async getBytes(key: string): Promise<Buffer> {
    const stream = await this.get(key);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream) chunks.push(chunk as Buffer);
    } catch (err) {
      throw wrap(err, `reading object '${key}'`, key);
    }
    return Buffer.concat(chunks);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified, etag: unquote(out.ETag), contentType: out.ContentType };
    } catch (err) {
      if (httpStatus(err) === 404 || errorName(err) === 'NotFound' || errorName(err) === 'NoSuchKey') return undefined;
      throw wrap(err, `reading metadata of object '${key}'`, key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    const strip = this.prefix === '' ? 0 : this.prefix.length + 1;
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix === '' ? prefix : `${this.prefix}/${prefix}`,
            MaxKeys: this.listPageSize,
            ContinuationToken: token,
          }),
        );
      } catch (err) {
        throw wrap(err, `listing '${prefix}'`, prefix);
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        const key = o.Key.slice(strip);
        // Objects written by other tools may carry keys we would refuse (e.g. 'a//b'): skip them,
        // as the filesystem store does, so every listed key can be read back.
        if (!isValidKey(key)) continue;
        yield { key, size: o.Size ?? 0, lastModified: o.LastModified, etag: unquote(o.ETag) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
    } catch (err) {
      if (httpStatus(err) === 404) return;
      throw wrap(err, `deleting object '${key}'`, key);
    }
  }

  describe(): string {
    return this.prefix === '' ? `s3://${this.bucket}` : `s3://${this.bucket}/${this.prefix}`;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

/** Socket errors: the endpoint cannot be reached (after the SDK's own retries). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

function wrap(err: unknown, doing: string, key: string): SecondreadError {
  if (err instanceof SecondreadError) return err;
  const reason = err instanceof S3ServiceException ? `${err.name}: ${err.message}` : err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | undefined)?.code;
  // Unreachable, or the service says "later" (503 SlowDown / ServiceUnavailable): retrying may succeed,
  // so the client gets 503 with Retry-After; anything else (no bucket, denied) is a configuration fault.
  if ((typeof code === 'string' && UNREACHABLE.has(code)) || errorName(err) === 'TimeoutError' || httpStatus(err) === 503) {
    return new StorageUnavailableError(`the object store is unavailable ${doing}: ${reason}`, { key }, { cause: err });
  }
  return new StorageError(`object store failed ${doing}: ${reason}`, { key }, { cause: err });
}
