#!/usr/bin/env node
// Launcher: `node supervisor` from the repository root, or `npx supervisor`. The program is built
// into dist/ by `npm install` (the prepare script runs tsc).
import "../dist/supervisor/main.js";
