// Time as a dependency, so that tests can pin it.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export function fixedClock(at: Date | string): Clock {
  const d = new Date(at);
  return { now: () => new Date(d) };
}

/** A clock a test moves by hand; `advance(ms)` moves it forward and returns the new time in ms. */
export interface ManualClock extends Clock {
  advance(ms: number): number;
}

export function manualClock(start = '2024-05-01T10:00:00.000Z'): ManualClock {
  let ms = Date.parse(start);
  return { now: () => new Date(ms), advance: (d: number) => (ms += d) };
}
