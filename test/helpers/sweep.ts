/** A vitest setup file: at the end of each test file, remove the temp directories it forgot. */
import { afterAll } from "vitest";
import { sweepTempDirs } from "./net.js";

afterAll(() => sweepTempDirs());
