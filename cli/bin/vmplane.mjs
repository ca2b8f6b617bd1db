#!/usr/bin/env node
// The `vmplane` command.
import { launch } from './launch.mjs';

launch('../src/main.ts');
