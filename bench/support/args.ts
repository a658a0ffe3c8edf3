// The benchmarks' argument parsing: each bench declares its flags as a table (flag → what it sets); the loop, the
// number checks, --help and the usage shown with every refusal are here once.

/** A flag's value, read from the argument after it. */
export interface FlagValue {
  text(): string;
  /** A whole number ≥ `min` (default 0: a non-negative integer). */
  int(min?: number): number;
  /** Comma-separated text: `256,512` → ['256', '512']. */
  list(): string[];
  /** Comma-separated whole numbers, each ≥ `min` (default 0). */
  ints(min?: number): number[];
  /** Any finite number (range checks are the bench's). */
  number(): number;
}

/** Flag → what it sets on the options; a flag that takes no value ignores `v`. */
export type Flags<O> = Record<string, (o: O, v: FlagValue) => void>;

/** A refused command line; `exitCode` 0 is --help. The message ends with the usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Refuses the command line with `message` and the usage (for checks after parsing: "--steps must be >= 1"). */
export function refuse(message: string, usage: string): never {
  throw new UsageError(`${message}\n${usage}`, 2);
}

/** Applies `args` to `defaults` (modified and returned) by the table; throws UsageError for --help and bad input. */
export function parseFlags<O>(args: readonly string[], usage: string, defaults: O, flags: Flags<O>): O {
  for (let i = 0; i < args.length; i++) {
    // `--flag value` or `--flag=value` (node:util's parseArgs, which some benches used, takes both).
    const eq = args[i]!.startsWith('--') ? args[i]!.indexOf('=') : -1;
    const flag = eq > 0 ? args[i]!.slice(0, eq) : args[i]!;
    let inline = eq > 0 ? args[i]!.slice(eq + 1) : undefined;
    if (flag === '--help' || flag === '-h') throw new UsageError(usage, 0);
    const set = Object.hasOwn(flags, flag) ? flags[flag] : undefined;
    if (!set) refuse(`unknown option ${flag}`, usage);
    const text = (): string => {
      if (inline !== undefined) {
        const v = inline;
        inline = undefined;
        return v;
      }
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) refuse(`${flag} needs a value`, usage);
      return v;
    };
    const whole = (raw: string, min: number, listed: boolean): number => {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(v) || v < min) {
        const what = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer >= ${min}`;
        refuse(`${flag} needs ${listed ? `comma-separated values, each ${what}` : what}, got '${raw}'`, usage);
      }
      return v;
    };
    const list = (): string[] => text().split(',');
    set(defaults, {
      text,
      list,
      int: (min = 0) => whole(text(), min, false),
      ints: (min = 0) => list().map((raw) => whole(raw, min, true)),
      number: () => {
        const raw = text();
        const v = Number(raw);
        if (raw.trim() === '' || !Number.isFinite(v)) refuse(`${flag} needs a number, got '${raw}'`, usage);
        return v;
      },
    });
    if (inline !== undefined) refuse(`${flag} takes no value`, usage);
  }
  return defaults;
}

/**
 * A bench's options from its command line: --help prints the usage and exits 0; a refused line prints the
 * reason and the usage to stderr and exits 2 (no stack trace); `check` runs after parsing and may `refuse`.
 */
export function benchArgs<O>(args: readonly string[], usage: string, defaults: O, flags: Flags<O>, check?: (o: O) => void): O {
  try {
    const o = parseFlags(args, usage, defaults, flags);
    check?.(o);
    return o;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    (err.exitCode === 0 ? process.stdout : process.stderr).write(`${err.message}\n`);
    process.exit(err.exitCode);
  }
}
