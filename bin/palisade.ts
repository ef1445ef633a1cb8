import { main } from '../core/cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
