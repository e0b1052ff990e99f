#!/usr/bin/env node
// Plain JS launcher: the CLI is TypeScript, run through tsx's loader so there is no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
