#!/usr/bin/env -S node --max-semi-space-size=4
// Launcher of `node supervisor` (from the repository root) and the mcastbots-supervisor command:
// runs the program built into dist/ by `npm install` (the prepare script runs tsc) and exits with
// its status.
import { main, processIO } from "../dist/supervisor/main.js";

process.exit(await main(process.argv.slice(2), process.env, processIO()));
