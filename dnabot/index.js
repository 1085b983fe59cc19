#!/usr/bin/env node
// Launcher: `node dnabot` from the repository root, or `npx dnabot`. The program is built into
// dist/ by `npm install` (the prepare script runs tsc).
import "../dist/dnabot/main.js";
