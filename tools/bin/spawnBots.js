#!/usr/bin/env node
// Launcher for `npx spawnBots`: the program is built into dist/ by `npm install` (prepare runs tsc).
import "../../dist/tools/spawnBots.js";
