/*
 * A relay in a process of its own, for budget.property.test.ts to measure its memory: starts with the
 * options in argv[2] (JSON), prints its port on stdout, and exits when its stdin closes (the test ended,
 * or died) or on SIGTERM, after forwarding what it holds.
 */
import { startRelay } from '@genai-enrich/relay';
import type { RelayOptions } from '@genai-enrich/relay';

const options = JSON.parse(process.argv[2] ?? '{}') as RelayOptions;
const relay = await startRelay(options);
process.stdout.write(`${relay.address.port}\n`);
const stop = (): void => void relay.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
