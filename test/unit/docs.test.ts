/** The docs move with the code: every key, flag and command a user can give is documented. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KEYS } from "../../shared/config.js";
import { BOT_STATES, COMMAND_OPCODES, EXIT_REASONS, OPCODES, TAG } from "../../shared/protocol.js";
import { SUPERVISOR_FLAGS, SUPERVISOR_KEYS } from "../../supervisor/options.js";
import { REPO } from "../helpers/net.js";

const readme = readFileSync(join(REPO, "README.md"), "utf8");
const protocol = readFileSync(join(REPO, "protocol.md"), "utf8");

describe("README and protocol.md", () => {
  it("README documents every configuration key, the supervisor's keys and flags", () => {
    const keys = [...Object.keys(KEYS), ...Object.keys(SUPERVISOR_KEYS)];
    const missing = keys.filter((k) => !readme.includes(`\`${k}\``));
    expect(missing).toEqual([]);
    const flags = Object.keys(SUPERVISOR_FLAGS).filter((f) => f !== "fg" && !readme.includes(`\`-${f}\``));
    expect(flags).toEqual([]);
  });

  it("README documents every supervisor command", () => {
    for (const cmd of [...COMMAND_OPCODES, "WHO", "HELP", "WAIT", "QUIT"]) {
      expect(readme).toContain(`\`${cmd}`);
    }
  });

  it("protocol.md describes every opcode and tag that goes on the wire", () => {
    // From shared/protocol.ts, the one list: a new opcode or tag fails here until documented.
    expect(OPCODES.filter((op) => !protocol.includes(op))).toEqual([]);
    expect(Object.values(TAG).filter((tag) => !protocol.includes(`${tag}=`))).toEqual([]);
    for (const word of [...BOT_STATES, ...EXIT_REASONS]) expect(protocol).toContain(word);
  });
});
