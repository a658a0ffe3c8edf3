// Process resource usage as metrics: CPU % since the previous sample (100 = one core busy) and
// resident set size. One sampler per run, so two runs in one process keep separate intervals.

export interface SystemSample {
  cpuPercent: number;
  rssMb: number;
}

export const SYSTEM_METRIC_KEYS = { cpu: 'system/cpu_percent', rss: 'system/rss_mb' } as const;

export class SystemSampler {
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();

  constructor() {
    // The first interval is the whole process lifetime so far, so the first sample is meaningful too.
    const uptimeNs = BigInt(Math.round(process.uptime() * 1e9));
    this.lastAt -= uptimeNs;
    this.lastCpu = { user: 0, system: 0 };
  }

  sample(): SystemSample {
    const cpu = process.cpuUsage();
    const at = process.hrtime.bigint();
    const usedUs = cpu.user - this.lastCpu.user + (cpu.system - this.lastCpu.system);
    const wallUs = Number(at - this.lastAt) / 1000;
    this.lastCpu = cpu;
    this.lastAt = at;
    const cpuPercent = wallUs > 0 ? (100 * usedUs) / wallUs : 0;
    return { cpuPercent, rssMb: process.memoryUsage.rss() / (1024 * 1024) };
  }
}
