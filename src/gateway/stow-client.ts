// The STOW-RS client (PS3.18 §10.5): POSTs one Part 10 instance to `<service>/studies` as
// multipart/related; type="application/dicom", and reads the answer. 200: stored. 202: stored with
// warnings — unless our instance is in the Failed SOP Sequence. 409 and other 4xx: the service refused the
// object, resending cannot help; 408/429/5xx and network failures: try again later.
import { buildMultipartRelated } from '../data/dicom/multipart.js';
import { PacsSendError } from './errors.js';

export interface StowTarget {
  name: string;
  /** The DICOMweb service root (e.g. http://pacs:8042/dicom-web). */
  url: string;
  auth?: { bearer: string } | { basic: { user: string; password: string } };
}

export interface StowOutcome {
  status: number;
  /** Warning or failure text the service put in its response, when any. */
  warning?: string;
}

type DicomJson = Record<string, { vr?: string; Value?: unknown[] }>;

const FAILED_SOP_SEQUENCE = '00081198';
const REFERENCED_SOP_INSTANCE_UID = '00081155';
const FAILURE_REASON = '00081197';
const WARNING_REASON = '00081196';

function authorization(auth: StowTarget['auth']): Record<string, string> {
  if (!auth) return {};
  if ('bearer' in auth) return { authorization: `Bearer ${auth.bearer}` };
  return { authorization: `Basic ${Buffer.from(`${auth.basic.user}:${auth.basic.password}`).toString('base64')}` };
}

/** The URL without its credentials or query: what may appear in a log or an error. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/** Sends `file` by STOW-RS. `fetchImpl` is for tests. */
export async function stowRs(
  target: StowTarget,
  file: Uint8Array,
  sopInstanceUid: string,
  o: { timeoutMs?: number; fetchImpl?: typeof fetch } = {},
): Promise<StowOutcome> {
  // fetch refuses a URL with credentials in it: they become Basic auth (unless auth is configured).
  const service = new URL(target.url);
  const fromUrl = service.username ? { basic: { user: decodeURIComponent(service.username), password: decodeURIComponent(service.password) } } : undefined;
  service.username = '';
  service.password = '';
  const url = `${service.toString().replace(/\/+$/, '')}/studies`;
  const { body, contentType } = buildMultipartRelated('application/dicom', [{ contentType: 'application/dicom', body: file }]);
  let res: Response;
  try {
    res = await (o.fetchImpl ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': contentType, accept: 'application/dicom+json', ...authorization(target.auth ?? fromUrl) },
      body,
      signal: AbortSignal.timeout(o.timeoutMs ?? 60_000),
    });
  } catch (err) {
    const reason = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    throw new PacsSendError(target.name, `STOW-RS to ${shown(url)} failed: ${reason.split(target.url).join(shown(url))}`, { retryable: true, cause: err });
  }
  const text = await res.text().catch(() => '');
  const failure = failureFor(text, sopInstanceUid);
  if (res.status === 200 || (res.status === 202 && !failure)) {
    const warning = reasonIn(text, WARNING_REASON);
    return { status: res.status, ...(warning ? { warning } : {}) };
  }
  // A failure reason A7xx (out of resources) is the service's state, not the object's.
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500 || /^failure reason 0xA7/.test(failure ?? '');
  const detail = failure ?? (text.slice(0, 200).replace(/\s+/g, ' ').trim() || res.statusText);
  throw new PacsSendError(target.name, `STOW-RS to ${shown(url)} answered ${res.status}: ${detail}`, { retryable, status: res.status });
}

function parse(text: string): DicomJson | null {
  try {
    const j = JSON.parse(text) as unknown;
    const first = Array.isArray(j) ? j[0] : j;
    return first && typeof first === 'object' ? (first as DicomJson) : null;
  } catch {
    return null;
  }
}

/** "failure reason 0xNNNN" when the response lists our instance as failed. */
function failureFor(text: string, sopInstanceUid: string): string | undefined {
  const failed = parse(text)?.[FAILED_SOP_SEQUENCE]?.Value as DicomJson[] | undefined;
  const ours = failed?.find((item) => item?.[REFERENCED_SOP_INSTANCE_UID]?.Value?.[0] === sopInstanceUid);
  if (!ours) return undefined;
  const reason = ours[FAILURE_REASON]?.Value?.[0];
  return `failure reason ${typeof reason === 'number' ? `0x${reason.toString(16).toUpperCase().padStart(4, '0')}` : 'not given'}`;
}

function reasonIn(text: string, tag: string): string | undefined {
  const v = parse(text)?.[tag]?.Value?.[0];
  return typeof v === 'number' ? `0x${v.toString(16).toUpperCase().padStart(4, '0')}` : undefined;
}
