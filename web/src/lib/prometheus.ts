// Prometheus text exposition format (what GET /metrics answers), parsed for the Monitoring page:
// samples, sums over label sets, histograms, and the quantile estimate Prometheus' own
// histogram_quantile() makes (linear interpolation inside the bucket that holds the rank).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?\s*$/;

function parseValue(raw: string): number {
  if (raw === '+Inf' || raw === 'Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  if (raw === 'NaN') return NaN;
  const v = Number(raw);
  if (Number.isNaN(v)) throw new SyntaxError(`not a sample value: ${raw}`);
  return v;
}

/** `a="x",b="y \"q\""` → {a: 'x', b: 'y "q"'} (escapes: \\, \", \n). */
function parseLabels(body: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    while (body[i] === ' ' || body[i] === ',') i++;
    if (i >= body.length) break;
    const eq = body.indexOf('=', i);
    if (eq < 0 || body[eq + 1] !== '"') throw new SyntaxError(`line ${line}: malformed labels`);
    const name = body.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < body.length && body[j] !== '"'; j++) {
      if (body[j] === '\\') {
        j++;
        value += body[j] === 'n' ? '\n' : (body[j] ?? '');
      } else value += body[j];
    }
    if (j >= body.length) throw new SyntaxError(`line ${line}: unterminated label value`);
    labels[name] = value;
    i = j + 1;
  }
  return labels;
}

/** Every sample in the text; comments (# HELP, # TYPE) and blank lines skipped. Throws SyntaxError on a malformed line. */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  text.split('\n').forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = SAMPLE.exec(line);
    if (!m) throw new SyntaxError(`line ${n + 1}: not a sample: ${line.slice(0, 80)}`);
    out.push({ name: m[1]!, labels: m[3] ? parseLabels(m[3], n + 1) : {}, value: parseValue(m[4]!) });
  });
  return out;
}

function matches(s: Sample, name: string, match: Record<string, string>): boolean {
  return s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v);
}

/** Σ of the samples named `name` whose labels include `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) => matches(s, name, match)).reduce((t, s) => t + s.value, 0);
}

/** Σ per value of `label` (e.g. predictions per class_name). */
export function sumBy(samples: readonly Sample[], name: string, label: string, match: Record<string, string> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) if (matches(s, name, match) && s.labels[label] !== undefined) out[s.labels[label]!] = (out[s.labels[label]!] ?? 0) + s.value;
  return out;
}

export interface Histogram {
  /** Cumulative counts by upper bound, ascending, the last one +Inf. */
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

/** The histogram `name` (its _bucket, _count, _sum series) summed over every label set matching `match`. */
export function histogramOf(samples: readonly Sample[], name: string, match: Record<string, string> = {}): Histogram {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (!matches(s, `${name}_bucket`, match) || s.labels.le === undefined) continue;
    const le = parseValue(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
  return { buckets, count: sumOf(samples, `${name}_count`, match), sum: sumOf(samples, `${name}_sum`, match) };
}

/** later − earlier, bucket by bucket: what happened between two scrapes (a counter reset gives the later values). */
export function histogramDelta(earlier: Histogram, later: Histogram): Histogram {
  if (later.count < earlier.count) return later;
  const before = new Map(earlier.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: later.buckets.map((b) => ({ le: b.le, count: b.count - (before.get(b.le) ?? 0) })),
    count: later.count - earlier.count,
    sum: later.sum - earlier.sum,
  };
}

/**
 * The q-quantile (0…1) estimated as Prometheus does: find the bucket holding rank q × count and
 * interpolate linearly inside it (the first bucket starts at 0; a rank in +Inf answers the highest
 * finite bound). null when there are no observations.
 */
export function histogramQuantile(h: Histogram, q: number): number | null {
  const total = h.buckets.at(-1)?.count ?? 0;
  if (total <= 0 || q < 0 || q > 1) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      if (b.count === prevCount) return b.le;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / (b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** Per-second rate of a counter between two readings (null for a reset or no elapsed time). */
export function counterRate(earlier: number, later: number, seconds: number): number | null {
  if (seconds <= 0 || later < earlier) return null;
  return (later - earlier) / seconds;
}
