// The scenario's report: report.md (the timeline of phases, each phase's figures, what every check found) and
// report.json (the same record), in the scenario's output directory.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { ScenarioResult } from './run.js';

const fmt = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** The report as markdown: timeline, figures per phase, checks. */
export function scenarioMarkdown(r: ScenarioResult): string {
  const out: string[] = [];
  out.push(`# Scenario ${r.scenario}: ${r.ok ? 'every phase and check passed' : 'FINDINGS'}`, '');
  out.push(
    `Model \`${r.model}\`; ${r.startedAt} → ${r.endedAt} (${r.seconds} s). Load average at the start ${r.load.start.join(', ')}, ` +
      `at the end ${r.load.end.join(', ')} (1, 5, 15 min; ${r.load.cpus} CPUs).`,
    '',
  );
  out.push('## Timeline', '', '| # | phase | starts at (s) | took (s) | outcome |', '|---|---|---|---|---|');
  for (const p of r.phases)
    out.push(`| ${p.n} | ${p.title} | ${p.startedAt} | ${p.seconds} | ${p.ok ? 'ok' : `**${(p.finding ?? 'failed').replace(/\|/g, '\\|')}**`} |`);
  out.push('');
  for (const p of r.phases) {
    out.push(`## ${p.n}. ${p.title}`, '');
    for (const [k, v] of Object.entries(p.figures)) out.push(`- **${k}**: ${fmt(v)}`);
    if (p.finding) out.push(`- **finding**: ${p.finding}`);
    out.push('');
  }
  out.push('## Checks', '', '| check | result | found |', '|---|---|---|');
  for (const c of r.checks) out.push(`| ${c.name} | ${c.ok ? 'ok' : '**FAILED**'} | ${c.detail.replace(/\|/g, '\\|')} |`);
  out.push('');
  if (r.metrics.length > 0) out.push(`## /metrics series of ${r.model}`, '', '```', ...r.metrics, '```', '');
  return `${out.join('\n')}\n`;
}

export async function writeScenarioReport(r: ScenarioResult): Promise<{ markdown: string; json: string }> {
  const markdown = join(r.outDir, 'report.md');
  const json = join(r.outDir, 'report.json');
  await writeFile(markdown, scenarioMarkdown(r));
  await writeFile(json, `${JSON.stringify(r, null, 2)}\n`);
  return { markdown, json };
}

/** The lines the CLI prints at the end. */
export function scenarioSummary(r: ScenarioResult): string[] {
  return [
    `scenario ${r.scenario}: ${r.ok ? 'ok' : 'FINDINGS'} in ${r.seconds} s (load ${r.load.start[0]} → ${r.load.end[0]})`,
    ...r.phases.map((p) => `  ${p.n}. ${p.name.padEnd(17)} ${String(p.seconds).padStart(7)} s  ${p.ok ? 'ok' : `FAILED: ${p.finding ?? ''}`}`),
    ...r.checks.map((c) => `  check ${c.name}: ${c.ok ? 'ok' : 'FAILED'} — ${c.detail}`),
  ];
}
