/**
 * The console: draws view lines (coloured by opcode, state and kind when stdout is a
 * terminal, plain otherwise) and reads command lines. On a terminal it is a readline prompt
 * with history and Tab completion, and lines printed while the user types are drawn above the
 * prompt. With piped input it is script mode: lines are commands, no prompt, no colour.
 */
import { clearLine, createInterface, cursorTo, type Interface, moveCursor } from "node:readline";
import { needsEscape, printable, safeJson } from "../shared/escape.js";
import { BEAT, EXIT, FRANKENSTEIN, KILL, NEWS, PING, RSET, UPLD } from "../shared/protocol.js";
import type { ViewLine } from "./watch.js";

const SGR = {
  bold: "1",
  dim: "2",
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  magenta: "35",
  cyan: "36",
} as const;
type Style = keyof typeof SGR;

const OPCODE_STYLE: Record<string, Style[]> = {
  [BEAT]: ["green"],
  [NEWS]: ["cyan", "bold"],
  [EXIT]: ["yellow"],
  [PING]: ["blue"],
  [UPLD]: ["magenta"],
  [KILL]: ["red", "bold"],
  [RSET]: ["blue", "bold"],
};

/** Colour on a terminal, unless NO_COLOR is set or the terminal is dumb; FORCE_COLOR forces it. */
export function wantColour(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return Boolean((stream as NodeJS.WriteStream).isTTY) && env.TERM !== "dumb";
}

function styleOf(line: ViewLine): Style[] {
  switch (line.kind) {
    case "traffic":
    case "own": {
      // A Frankenstein bot is trouble whatever it says.
      const base: Style[] = line.state === FRANKENSTEIN ? ["red"] : (OPCODE_STYLE[line.opcode ?? ""] ?? []);
      return line.kind === "own" ? [...base, "bold"] : base;
    }
    case "event":
      return line.sign === "+" ? ["green", "bold"] : ["yellow", "bold"];
    case "upload":
      if (line.status === undefined) return [];
      return line.status >= 200 && line.status < 300 ? ["green"] : ["yellow"];
    case "notice":
      return ["dim"];
    case "prompt":
      return ["bold"];
    case "warning":
      return ["yellow"];
    case "error":
      return ["red", "bold"];
    case "summary":
      return ["cyan"];
    case "reply":
      return [];
    case "unverified":
      return ["magenta", "dim"];
  }
}

/** One line of text for the terminal (no newline). View lines are printable already; a line that
 *  is not (a bug) is escaped here rather than let it reach the terminal raw. */
export function render(line: ViewLine, colour: boolean): string {
  const text = needsEscape(line.text) ? printable(line.text) : line.text;
  const styles = colour ? styleOf(line) : [];
  if (styles.length === 0) return text;
  return `\x1b[${styles.map((s) => SGR[s]).join(";")}m${text}\x1b[0m`;
}

/**
 * -json: one JSON object per line shown (traffic, events, replies, uploads, warnings, errors,
 * summaries), with its kind, its text and its data; upload content lines are left out (the
 * upload's object says how many lines and bytes came and where they were saved). Terminal-safe:
 * control characters are written as \u escapes.
 */
export function renderJson(line: ViewLine, time: Date): string | undefined {
  if (line.more) return undefined;
  const obj: Record<string, unknown> = { time: time.toISOString(), kind: line.kind, text: line.text };
  if (line.opcode !== undefined) obj.opcode = line.opcode;
  if (line.state !== undefined) obj.state = line.state;
  if (line.status !== undefined) obj.status = line.status;
  if (line.data) Object.assign(obj, line.data);
  return safeJson(obj);
}

export interface ConsoleOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** A person at a terminal (prompt, history, completion), or a script. */
  interactive: boolean;
  colour: boolean;
  /** Tab completion: [candidates, the word being completed]. */
  complete?: (line: string) => [string[], string];
  onLine: (line: string) => void;
  /** End of input (Ctrl-D, or the end of the script). */
  onEnd: () => void;
  /** Ctrl-C at the prompt. */
  onInterrupt: () => void;
  /** -json: one JSON object per line (see renderJson). */
  json?: boolean;
  /** Wall-clock time for -json (tests inject it). */
  wallClock?: () => Date;
}

export class SupervisorConsole {
  private readonly rl: Interface;
  private closed = false;
  /** The last line drawn on a terminal was the live summary: the next one replaces it. */
  private summaryShown = false;

  constructor(private readonly opts: ConsoleOptions) {
    this.rl = opts.interactive
      ? createInterface({
          input: opts.input,
          output: opts.output,
          terminal: true,
          historySize: 1000,
          removeHistoryDuplicates: true,
          prompt: "> ",
          completer: (line: string) => opts.complete?.(line) ?? [[], line],
        })
      : createInterface({ input: opts.input, terminal: false });
    this.rl.on("line", (line) => opts.onLine(line));
    this.rl.on("close", () => {
      this.closed = true;
      opts.onEnd();
    });
    this.rl.on("SIGINT", () => opts.onInterrupt());
    if (opts.interactive) this.rl.prompt();
  }

  write(line: ViewLine): void {
    const out = this.opts.output;
    if (this.opts.json) {
      const json = renderJson(line, (this.opts.wallClock ?? (() => new Date()))());
      if (json !== undefined) out.write(`${json}\n`);
      return;
    }
    const text = render(line, this.opts.colour);
    if (this.opts.interactive && !this.closed) {
      // Draw above the prompt, then redraw the prompt with what the user has typed so far. The
      // live summary replaces the previous one when nothing was printed in between.
      clearLine(out, 0);
      cursorTo(out, 0);
      if (line.kind === "summary" && this.summaryShown) {
        moveCursor(out, 0, -1);
        clearLine(out, 0);
      }
      this.summaryShown = line.kind === "summary";
      out.write(`${text}\n`);
      this.rl.prompt(true);
      return;
    }
    out.write(`${text}\n`);
  }

  /** Show the prompt again after a command. */
  prompt(): void {
    if (this.opts.interactive && !this.closed) this.rl.prompt();
  }

  close(): void {
    if (!this.closed) this.rl.close();
  }
}

/**
 * Runs command lines one at a time, in order (WAIT holds the next ones back), and reports the
 * end: "quit" when a command asked to leave, "eof" once input has ended and every line has run.
 */
export class CommandQueue {
  private readonly lines: string[] = [];
  private running = false;
  private ended = false;
  private finished = false;

  constructor(
    private readonly run: (line: string) => Promise<"quit" | undefined>,
    private readonly onFinish: (how: "quit" | "eof") => void,
    private readonly afterEach?: () => void,
    private readonly onError?: (err: unknown) => void,
  ) {}

  push(line: string): void {
    if (this.finished) return;
    this.lines.push(line);
    void this.pump();
  }

  end(): void {
    this.ended = true;
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.running || this.finished) return;
    this.running = true;
    try {
      for (let line = this.lines.shift(); line !== undefined; line = this.lines.shift()) {
        let result: "quit" | undefined;
        try {
          result = await this.run(line);
        } catch (e) {
          this.onError?.(e);
        }
        if (result === "quit") return this.finish("quit");
        this.afterEach?.();
      }
    } finally {
      this.running = false;
    }
    if (this.ended) this.finish("eof");
  }

  private finish(how: "quit" | "eof"): void {
    if (this.finished) return;
    this.finished = true;
    this.onFinish(how);
  }
}
