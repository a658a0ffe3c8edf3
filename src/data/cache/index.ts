export { buildCache, cachePath, type BuildCacheOptions, type CacheFileResult } from './build-cache.js';
export { CACHE_MAGIC, type CacheHeader } from './format.js';
export { loadCache, readCacheHeader, type LoadedCache } from './read-cache.js';
