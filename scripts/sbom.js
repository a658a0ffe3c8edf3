#!/usr/bin/env node
// `npm run sbom`: the software bill of materials (CycloneDX 1.5, from npm's own `npm sbom` over the lock
// file), written to sbom.cdx.json — the list of software of unknown provenance IEC 62304 asks a medical
// device maker to keep — and a license summary on stdout. Exit 1 when a runtime component declares no
// license: someone must look at it before it ships.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const out = process.argv[2] ?? 'sbom.cdx.json';
const json = execFileSync('npm', ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const bom = JSON.parse(json);
writeFileSync(out, json);

const byLicense = new Map();
const unlicensed = [];
for (const c of bom.components ?? []) {
  const names = (c.licenses ?? []).map((l) => l.expression ?? l.license?.id ?? l.license?.name).filter(Boolean);
  if (names.length === 0) unlicensed.push(`${c.name}@${c.version}`);
  const key = names.join(' AND ') || '(none declared)';
  byLicense.set(key, (byLicense.get(key) ?? 0) + 1);
}
console.log(`${out}: ${bom.components?.length ?? 0} runtime components (CycloneDX ${bom.specVersion})`);
for (const [license, n] of [...byLicense].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(4)}  ${license}`);
if (unlicensed.length) {
  console.error(`components without a declared license: ${unlicensed.join(', ')}`);
  process.exit(1);
}
