/**
 * Commands typed at the supervisor: `OPCODE dest [args]` to send to the group, or a local
 * command (HELP, WHO, WAIT, QUIT). Pure: a line and the context in, a decision out. A command
 * that is wrong gives one local error line and nothing is sent (the original sent whatever was
 * typed).
 */
import { isPeerId, isTag, withTags } from "../shared/codec.js";
import { printable } from "../shared/escape.js";
import { t } from "../shared/i18n.js";
import { COMMAND_OPCODES, type CommandOpcode, isCommandOpcode, TAG, UPLD, WILDCARD } from "../shared/protocol.js";

/** Commands the supervisor runs itself. */
export const LOCAL_COMMANDS = ["HELP", "WHO", "WAIT", "QUIT"] as const;

export type Command =
  | { kind: "send"; opcode: CommandOpcode; dest: string; args: string[] }
  | { kind: "help" }
  | { kind: "who" }
  | { kind: "wait"; seconds: number }
  | { kind: "quit" }
  | { kind: "empty" }
  /** Already translated, one line. */
  | { kind: "error"; message: string };

export interface CommandContext {
  /** Bytes the command's datagram would take (the channel's measure(): our id, the sequence
   *  number it would get and what the layers add count towards it). */
  measure: (opcode: string, dest: string, args: readonly string[]) => number;
  pktSize: number;
  /** The file UPLD asks for when none is given (config `results`). */
  results: string;
  /** Our upload server's port, sent as port= on every UPLD. */
  uploadPort: number;
  /** A known member's exact id for what was typed (ids are matched ignoring case). */
  resolveDest?: (typed: string) => string | undefined;
}

export function parseCommand(line: string, ctx: CommandContext): Command {
  const fields = line
    .trim()
    .split(/\s+/)
    .filter((f) => f !== "");
  if (fields.length === 0) return { kind: "empty" };
  const word = (fields[0] as string).toUpperCase();
  const rest = fields.slice(1);
  switch (word) {
    case "HELP":
    case "?":
      return { kind: "help" };
    case "WHO":
      return { kind: "who" };
    case "QUIT":
      return { kind: "quit" };
    case "WAIT": {
      const s = Number(rest[0]);
      if (rest.length !== 1 || !Number.isFinite(s) || s < 0) {
        return { kind: "error", message: t("WAIT needs a number of seconds, e.g. WAIT 2.5") };
      }
      return { kind: "wait", seconds: s };
    }
  }
  if (!isCommandOpcode(word)) {
    return {
      kind: "error",
      message: t("Unknown command {{cmd}}: type HELP for the list", { cmd: printable(fields[0] as string) }),
    };
  }
  const opcode: CommandOpcode = word;
  const typedDest = rest[0];
  if (typedDest === undefined) {
    return { kind: "error", message: t("{{opcode}} needs a destination: a bot id or *", { opcode }) };
  }
  if (typedDest !== WILDCARD && !isPeerId(typedDest)) {
    return { kind: "error", message: t("{{dest}} is not a bot id or *", { dest: printable(typedDest) }) };
  }
  const dest = typedDest === WILDCARD ? WILDCARD : (ctx.resolveDest?.(typedDest) ?? typedDest);
  let args: string[] = [];
  if (opcode === UPLD) {
    if (rest.length > 2) return { kind: "error", message: t("UPLD takes at most one file name") };
    const file = rest[1] ?? ctx.results;
    // Our bots read trailing key=value words as tags: such a name would never reach them.
    if (isTag(file)) {
      return {
        kind: "error",
        message: t("{{file}} looks like a tag (key=value) and cannot be sent as a file name", {
          file: printable(file),
        }),
      };
    }
    args = withTags([file], { [TAG.port]: ctx.uploadPort });
  } else if (rest.length > 1) {
    return { kind: "error", message: t("{{opcode}} takes nothing after the destination", { opcode }) };
  }
  const size = ctx.measure(opcode, dest, args);
  if (size > ctx.pktSize) {
    return {
      kind: "error",
      message: t("The command would not fit in one datagram ({{size}} bytes, the limit is {{limit}})", {
        size,
        limit: ctx.pktSize,
      }),
    };
  }
  return { kind: "send", opcode, dest, args };
}

/** HELP: one line per command. */
export function helpLines(results: string): string[] {
  return [
    t("Commands (case does not matter; dest is a bot id or * for every bot):"),
    `  PING dest          ${t("ask for a heartbeat (BEAT)")}`,
    `  UPLD dest [file]   ${t("ask for an upload of file (default {{results}}) to this supervisor", { results })}`,
    `  KILL dest          ${t("tell the bot to empty its results and leave")}`,
    `  RSET dest          ${t("tell the bot to reload its configuration and go back to Asimov")}`,
    `  WHO                ${t("list the members heard on the group")}`,
    `  WAIT seconds       ${t("wait before running the next command (for scripts)")}`,
    `  HELP               ${t("this list")}`,
    `  QUIT               ${t("leave the group and exit (also Ctrl-D, Ctrl-C)")}`,
    `  ${t("(blank line)")}       ${t("pause or resume the traffic display")}`,
  ];
}

/** Words Tab completes as the first word of a line. */
export function completionWords(): string[] {
  return [...COMMAND_OPCODES, ...LOCAL_COMMANDS];
}

/**
 * Tab completion: the first word from the commands, the second from `*` and the known bot ids.
 * Returns readline's [candidates, word being completed].
 */
export function complete(line: string, botIds: readonly string[]): [string[], string] {
  const m = /^(\s*)(\S*)(\s+)?(\S*)$/.exec(line);
  if (!m) return [[], ""];
  const [, , first = "", space, second = ""] = m;
  if (space === undefined) {
    const up = first.toUpperCase();
    const hits = completionWords().filter((w) => w.startsWith(up));
    // Keep the user's case: they typed "pi", offer "ping".
    const lower = first !== "" && first === first.toLowerCase();
    return [hits.map((h) => `${lower ? h.toLowerCase() : h} `), first];
  }
  if (!isCommandOpcode(first.toUpperCase())) return [[], second];
  const up = second.toUpperCase();
  const hits = [WILDCARD, ...botIds].filter((id) => id.toUpperCase().startsWith(up));
  return [hits, second];
}
