// `secondread start` (`npm start`). The full platform (API + UI + demo bootstrap) does not exist yet;
// until it does, this says honestly what works so far instead of pretending to serve anything.
import type { Command } from 'commander';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start the platform on the embedded default (today: lists what is available so far)')
    .action(() => {
      const lines = [
        'secondread is under construction: the API server and web UI are not built yet, so nothing is served.',
        '',
        'What works today:',
        '  npx secondread data synth --out /tmp/raw --per-class 300   synthetic phantom archives in the real datasets\' layouts',
        '  npx secondread data build --config examples/datasets.yaml   ETL into an immutable, validated dataset version',
        '  npx secondread data ls | validate <version> | stats <version> | cache <version>',
        '  npx secondread train --dataset <version> --model vit-small      train a ViT (tracked run, exported ONNX)',
        '  npx secondread runs ls | show <run> | compare <run> <run>        experiment tracking',
        '  npx secondread models register | import | promote | rollback    model registry with alias history',
        '',
        'Run `npx secondread --help` for every command.',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
