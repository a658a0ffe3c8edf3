import { describe, expect, it } from 'vitest';

import { loadConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { FsObjectStore } from './fs-object-store.js';
import { openObjectStore } from './open-object-store.js';
import { parseS3Url, S3ObjectStore } from './s3-object-store.js';

const s3Defaults = { s3Region: 'us-east-1', s3ForcePathStyle: true };

describe('openObjectStore', () => {
  it('defaults to the filesystem store at <home>/objects', async () => {
    const cfg = loadConfig({ env: { SECONDREAD_HOME: '/var/lib/sr' }, file: undefined });
    const store = openObjectStore(cfg.objectStore);
    expect(store).toBeInstanceOf(FsObjectStore);
    expect(store.describe()).toBe('file:///var/lib/sr/objects');
    await store.close();
  });

  it('opens S3 for s3:// URLs', async () => {
    const store = openObjectStore({ ...s3Defaults, url: 's3://bucket/some/prefix/', s3Endpoint: 'http://127.0.0.1:9000' });
    expect(store).toBeInstanceOf(S3ObjectStore);
    expect(store.describe()).toBe('s3://bucket/some/prefix');
    await store.close();
  });

  it.each([
    'http://example.com/x',
    'gs://bucket',
    'objects',
    'file://remotehost/x',
    's3://',
    's3://b/a//x',
    's3://b/p?conditional-writes=maybe',
    's3://b/p?region=x',
  ])('rejects %s with a ConfigError', (url) => {
    expect(() => openObjectStore({ ...s3Defaults, url })).toThrow(ConfigError);
  });
});

describe('parseS3Url', () => {
  it('splits bucket, prefix and the conditional-writes mode', () => {
    expect(parseS3Url('s3://b')).toEqual({ bucket: 'b', prefix: '', conditionalWrites: 'native' });
    expect(parseS3Url('s3://b/a/b%20c/?conditional-writes=emulated')).toEqual({ bucket: 'b', prefix: 'a/b c', conditionalWrites: 'emulated' });
  });
});
