// Where the repository is, for the tools that read or write its files (the code generator, the
// development harness, the tests and benchmarks). Nothing that runs in a cluster uses it.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
