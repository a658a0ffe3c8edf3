// Intensity statistics of an 8-bit grayscale image, recorded per image in the manifest so validation
// can summarize a whole dataset without decoding it again.

export interface IntensityStats {
  mean: number;
  std: number;
}

export function intensityStats(data: Uint8Array): IntensityStats {
  // A histogram keeps the sums exact integers however large the image is.
  const hist = new Float64Array(256);
  for (let i = 0; i < data.length; i++) hist[data[i]!]! += 1;
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let v = 0; v < 256; v++) {
    const c = hist[v]!;
    n += c;
    sum += c * v;
    sumSq += c * v * v;
  }
  if (n === 0) return { mean: 0, std: 0 };
  const mean = sum / n;
  return { mean, std: Math.sqrt(Math.max(0, sumSq / n - mean * mean)) };
}
