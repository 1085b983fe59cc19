#!/usr/bin/env -S node --max-semi-space-size=4
// Launcher of `node dnabot` (from the repository root) and the mcastbots-dnabot command: runs the
// program built into dist/ by `npm install` (the prepare script runs tsc) and exits with its status.
import { main, processIO } from "../dist/dnabot/main.js";

process.exit(await main(process.argv.slice(2), process.env, processIO()));
