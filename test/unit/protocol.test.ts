/** The protocol's words (shared/protocol.ts): one list of each, and the id conventions. */
import { describe, expect, it } from "vitest";
import { isPeerId } from "../../shared/codec.js";
import {
  BOT_OPCODES,
  BOT_STATES,
  botStateOf,
  COMMAND_OPCODES,
  CONTROL_OPCODES,
  EXIT_REASONS,
  EXIT_STATUS,
  exitReasonOf,
  isBotId,
  isCommandOpcode,
  isControlOpcode,
  isKnownOpcode,
  isOurSupervisorId,
  isSupervisorId,
  OPCODES,
  supervisorId,
  TAG,
} from "../../shared/protocol.js";

describe("opcodes", () => {
  it("are four capital letters, each in exactly one family", () => {
    expect(OPCODES).toEqual(["BEAT", "NEWS", "EXIT", "PING", "UPLD", "KILL", "RSET", "NACK", "RSND", "SKIP", "LAST"]);
    for (const op of OPCODES) expect(op).toMatch(/^[A-Z]{4}$/);
    expect(new Set(OPCODES).size).toBe(OPCODES.length);
    expect([...BOT_OPCODES, ...COMMAND_OPCODES, ...CONTROL_OPCODES].length).toBe(OPCODES.length);
  });

  it("classifies commands, control messages and strangers", () => {
    expect(COMMAND_OPCODES.every(isCommandOpcode)).toBe(true);
    expect(CONTROL_OPCODES.every(isControlOpcode)).toBe(true);
    expect(isCommandOpcode("BEAT") || isCommandOpcode("LAST") || isCommandOpcode("ping")).toBe(false);
    expect(isControlOpcode("PING") || isControlOpcode("last")).toBe(false);
    expect(isKnownOpcode("LAST")).toBe(true);
    expect(isKnownOpcode("ABCD")).toBe(false);
  });
});

describe("ids", () => {
  it("supervisors are HUMAN or HUMAN-xxxx; ours are the HUMAN- ones", () => {
    expect(isSupervisorId("HUMAN")).toBe(true);
    expect(isSupervisorId("HUMAN-3fa2")).toBe(true);
    expect(isSupervisorId("HUMANE")).toBe(false);
    expect(isSupervisorId("E26CB171")).toBe(false);
    expect(isOurSupervisorId("HUMAN")).toBe(false);
    expect(isOurSupervisorId("HUMAN-3fa2")).toBe(true);
  });

  it("makes HUMAN- and 4 lower-case hex digits, valid peer ids", () => {
    expect(supervisorId(0)).toBe("HUMAN-0000");
    expect(supervisorId(0x3fa2)).toBe("HUMAN-3fa2");
    expect(supervisorId(0xffff)).toBe("HUMAN-ffff");
    expect(supervisorId(0x1ffff)).toBe("HUMAN-ffff");
    expect(isPeerId(supervisorId(0xabc))).toBe(true);
  });

  it("bot ids are 8 upper-case hex digits", () => {
    expect(isBotId("E26CB171")).toBe(true);
    for (const id of ["e26cb171", "E26CB17", "E26CB1711", "HUMAN-3fa2", "G26CB171"]) expect(isBotId(id)).toBe(false);
  });
});

describe("states, reasons, tags", () => {
  it("reads a state= tag, case ignored; anything else is no state", () => {
    expect(BOT_STATES).toEqual(["asimov", "frankenstein"]);
    expect(botStateOf("Frankenstein")).toBe("frankenstein");
    expect(botStateOf("asimov")).toBe("asimov");
    expect(botStateOf("zombie")).toBeUndefined();
    expect(botStateOf(undefined)).toBeUndefined();
  });

  it("reads a reason= tag, case ignored, and gives each reason its exit status", () => {
    expect(EXIT_REASONS.map(exitReasonOf)).toEqual(["lifespan", "killed", "signal"]);
    expect(exitReasonOf("KILLED")).toBe("killed");
    expect(exitReasonOf("exit")).toBeUndefined();
    expect(exitReasonOf("")).toBeUndefined();
    expect(EXIT_STATUS).toEqual({ lifespan: 0, signal: 0, killed: 255 });
  });

  it("tag names are what goes on the wire", () => {
    expect(Object.entries(TAG).every(([k, v]) => k === v && /^[a-z][a-zA-Z]*$/.test(v))).toBe(true);
  });
});
