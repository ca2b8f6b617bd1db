#!/usr/bin/env node
// `kubectl vm`: kubectl finds this as `kubectl-vm` on PATH.
import { launch } from './launch.mjs';

launch('../src/kubectl-vm/main.ts');
