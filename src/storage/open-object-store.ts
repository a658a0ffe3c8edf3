// Picks the object store from config by URL scheme: file:///dir (embedded default) or s3://bucket/prefix.
import { fileURLToPath } from 'node:url';

import type { Config } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { FsObjectStore } from './fs-object-store.js';
import type { ObjectStore } from './object-store.js';
import { parseS3Url, S3ObjectStore } from './s3-object-store.js';

export function openObjectStore(cfg: Config['objectStore']): ObjectStore {
  const url = cfg.url;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'file') {
    let root: string;
    try {
      root = fileURLToPath(url);
    } catch (err) {
      throw new ConfigError(`object store URL '${url}' is not an absolute file:// URL: ${(err as Error).message}`);
    }
    return new FsObjectStore(root);
  }
  if (scheme === 's3') {
    return new S3ObjectStore({
      ...parseS3Url(url),
      endpoint: cfg.s3Endpoint,
      region: cfg.s3Region,
      forcePathStyle: cfg.s3ForcePathStyle,
    });
  }
  throw new ConfigError(`object store URL '${url}' is not supported: use file:///absolute/dir or s3://bucket/prefix (OBJECT_STORE_URL)`);
}
