#!/usr/bin/env node
// Launcher of `npm run attack`: runs the program built
// into dist/ by `npm install` (the prepare script runs tsc) and exits with its status.
import { processIO } from "../../dist/shared/cli.js";
import { main } from "../../dist/tools/attack.js";

process.exit(await main(process.argv.slice(2), process.env, processIO()));
