/**
 * Commands typed at the supervisor: `OPCODE dest [args]` to send to the group, or a local
 * command (HELP, WHO, WAIT, QUIT). Pure: a line and the context in, a decision out. A command
 * that is wrong gives one local error line and nothing is sent (the original sent whatever was
 * typed).
 */
import { isPeerId, isTag, withTags } from "../shared/codec.js";
import { printable } from "../shared/escape.js";
import { t } from "../shared/i18n.js";
import {
  COMMAND_OPCODES,
  type CommandOpcode,
  isCommandOpcode,
  type SeenState,
  TAG,
  UPLD,
  WILDCARD,
} from "../shared/protocol.js";
import type { Resolution } from "./roster.js";

/** Commands the supervisor runs itself. */
export const LOCAL_COMMANDS = ["HELP", "WHO", "WAIT", "QUIT"] as const;

/** WHO's filters: a member is listed when it passes each kind of filter given. */
export interface WhoFilter {
  /** Bot states, or "supervisor" for supervisors. */
  states: (SeenState | "supervisor")[];
  /** Id prefixes (typed as `8C*`), compared ignoring case. */
  prefixes: string[];
  program?: "ours" | "original";
}

/** A note about the destination of a command that is sent: completed from a prefix, or unknown. */
export type DestNote =
  | { kind: "completed"; typed: string; id: string }
  | { kind: "unknown"; id: string; suggestions: string[] };

export type Command =
  | { kind: "send"; opcode: CommandOpcode; dest: string; args: string[]; note?: DestNote }
  | { kind: "help" }
  | { kind: "who"; filter: WhoFilter }
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
  /** What a typed destination means on the roster (ids are matched ignoring case). */
  resolve?: (typed: string) => Resolution;
}

const WHO_STATES: Record<string, SeenState | "supervisor"> = {
  ASIMOV: "asimov",
  FRANKENSTEIN: "frankenstein",
  UNKNOWN: "unknown",
  SUPERVISOR: "supervisor",
  SUPERVISORS: "supervisor",
};

/** WHO's words: states, ours/original, id prefixes ending in `*`. Undefined: a stray word. */
export function parseWhoFilter(words: readonly string[]): WhoFilter | { stray: string } {
  const filter: WhoFilter = { states: [], prefixes: [] };
  for (const w of words) {
    const up = w.toUpperCase();
    const state = WHO_STATES[up];
    if (state !== undefined) {
      if (!filter.states.includes(state)) filter.states.push(state);
    } else if (up === "OURS" || up === "ORIGINAL") {
      filter.program = up === "OURS" ? "ours" : "original";
    } else if (w.endsWith("*") && (w === "*" || isPeerId(w.slice(0, -1)))) {
      filter.prefixes.push(w.slice(0, -1));
    } else {
      return { stray: w };
    }
  }
  return filter;
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
    case "WHO": {
      const filter = parseWhoFilter(rest);
      if ("stray" in filter) {
        return {
          kind: "error",
          message: t(
            "WHO does not understand {{word}}: it takes asimov, frankenstein, unknown, supervisor, ours, original or an id prefix ending in * (WHO 8C*)",
            { word: printable(filter.stray) },
          ),
        };
      }
      return { kind: "who", filter };
    }
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
  let dest = typedDest;
  let note: DestNote | undefined;
  const res = typedDest === WILDCARD ? undefined : ctx.resolve?.(typedDest);
  switch (res?.kind) {
    case "known":
      dest = res.id;
      break;
    case "completed":
      dest = res.id;
      note = { kind: "completed", typed: typedDest, id: res.id };
      break;
    case "ambiguous":
      // Tab then Enter on a prefix several bots share: nothing is sent.
      return {
        kind: "error",
        message: t("{{typed}} is the start of {{count}} ids ({{ids}}): type more of it; nothing was sent", {
          typed: printable(typedDest),
          count: res.count,
          ids: res.ids.join(", ") + (res.count > res.ids.length ? ", …" : ""),
        }),
      };
    case "unknown":
      note = { kind: "unknown", id: typedDest, suggestions: res.suggestions };
      break;
  }
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
  return note ? { kind: "send", opcode, dest, args, note } : { kind: "send", opcode, dest, args };
}

/** The line shown about a command's destination (completed, or nobody heard). */
export function destNoteText(opcode: string, note: DestNote): string {
  if (note.kind === "completed") {
    return t("{{opcode}}: {{typed}} completed to {{id}}", { opcode, typed: printable(note.typed), id: note.id });
  }
  if (note.suggestions.length === 0) {
    return t("{{opcode}}: nobody has heard {{id}}; sent anyway (a bot may be silent)", {
      opcode,
      id: printable(note.id),
    });
  }
  return t("{{opcode}}: nobody has heard {{id}}; sent anyway (a bot may be silent). Did you mean {{ids}}?", {
    opcode,
    id: printable(note.id),
    ids: note.suggestions.join(", "),
  });
}

/** HELP: one line per command; the placeholders (dest, file, filters, seconds) translated too. */
export function helpLines(results: string): string[] {
  const dest = t("dest");
  const rows: [string, string][] = [
    [`PING ${dest}`, t("ask for a heartbeat (BEAT)")],
    [
      `UPLD ${dest} [${t("file")}]`,
      t("ask for an upload of file (default {{results}}) to this supervisor", { results }),
    ],
    [`KILL ${dest}`, t("tell the bot to empty its results and leave")],
    [`RSET ${dest}`, t("tell the bot to reload its configuration and go back to Asimov")],
    [
      `WHO [${t("filters")}]`,
      t(
        "list the members heard on the group; filters: asimov, frankenstein, unknown, supervisor, ours, original, ID* (a prefix)",
      ),
    ],
    [`WAIT ${t("seconds")}`, t("wait before running the next command (for scripts)")],
    ["HELP", t("this list")],
    ["QUIT", t("leave the group and exit (also Ctrl-D, Ctrl-C)")],
    [t("(blank line)"), t("pause or resume the traffic display")],
  ];
  const width = Math.max(...rows.map(([c]) => c.length)) + 3;
  return [
    t("Commands (case does not matter; dest is a bot id or * for every bot):"),
    ...rows.map(([c, what]) => `  ${c.padEnd(width)}${what}`),
  ];
}

const MAX_CANDIDATES = 100;

function commonPrefix(words: readonly string[]): string {
  let p = words[0] ?? "";
  for (const w of words) while (!w.toUpperCase().startsWith(p.toUpperCase())) p = p.slice(0, -1);
  return p;
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
  // Thousands of candidates help nobody: complete as far as they agree, list nothing.
  if (hits.length > MAX_CANDIDATES) return [[commonPrefix(hits)], second];
  return [hits, second];
}
