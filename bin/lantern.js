#!/usr/bin/env node
import { main } from '../dist/cli/lantern-cli.js';

await main(process.argv.slice(2));
