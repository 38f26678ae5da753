#!/usr/bin/env node
/**
 * `npm run mutate [group ...]`: Stryker over each group of stryker.config.mjs (all by default),
 * one after the other, each against its own tests, then one table of the scores. Not part of CI:
 * it takes minutes per group on two cores. Reports: reports/mutation/<group>.json (and the
 * survivors printed by Stryker as it goes).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { groups } from '../stryker.config.mjs';

const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(groups);
const unknown = names.filter((n) => !(n in groups));
if (unknown.length) {
  console.error(`unknown group(s): ${unknown.join(', ')}; the groups: ${Object.keys(groups).join(', ')}`);
  process.exit(2);
}

const rows = [];
let failed = false;
for (const name of names) {
  const run = spawnSync('npx', ['stryker', 'run'], { stdio: 'inherit', env: { ...process.env, MUTATE_GROUP: name } });
  if (run.status !== 0) {
    failed = true;
    rows.push({ group: name, score: 'failed' });
    continue;
  }
  const report = JSON.parse(readFileSync(`reports/mutation/${name}.json`, 'utf8'));
  const count = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
  for (const file of Object.values(report.files))
    for (const m of file.mutants) if (m.status in count) count[m.status]++;
  const detected = count.Killed + count.Timeout;
  const valid = detected + count.Survived + count.NoCoverage;
  rows.push({
    group: name,
    mutants: valid,
    killed: detected,
    survived: count.Survived,
    noCoverage: count.NoCoverage,
    score: valid ? `${((100 * detected) / valid).toFixed(1)}%` : 'n/a',
  });
}
console.table(rows);
process.exit(failed ? 1 : 0);
