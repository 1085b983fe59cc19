/**
 * Group keys in the real programs: a keyed `node dnabot` on a 127.0.0.1 group ignores an unsigned
 * `x 0 KILL *` and obeys a signed KILL; a key file others can read is refused with exit 2;
 * -keygen prints a key; MCASTBOTS_KEYS gives the key when no key file is named.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ChanMessage } from "../../shared/codec.js";
import { encodeLine } from "../../shared/codec.js";
import { GroupAuth } from "../../shared/keys/auth.js";
import { generateKey, Keyring } from "../../shared/keys/keyring.js";
import { cleanupsAfterEach } from "../helpers/cleanups.js";
import { freeUdpPort, REPO, tempDir } from "../helpers/net.js";
import { groupWatcher, startProgram } from "../helpers/procs.js";
import { until } from "../helpers/until.js";

const cleanups = cleanupsAfterEach();

const ENV = { ...process.env, LANG: "C", LC_ALL: "", LC_MESSAGES: "", MCASTBOTS_KEYS: "" };

async function watch(port: number, key?: string) {
  const auth = key ? new GroupAuth({ ring: Keyring.parse(key, "test") }) : undefined;
  const { channel, transport } = await groupWatcher(port, cleanups, auth);
  const heard: ChanMessage[] = [];
  channel.on("message", (m) => heard.push(m));
  return { channel, transport, heard };
}

const spawnBot = (args: string[], cwd: string, env: NodeJS.ProcessEnv = ENV) =>
  startProgram("dnabot", args, { cwd, env, cleanups });

describe("keyed dnabot process", () => {
  it("an unsigned `x 0 KILL *` no longer kills a keyed bot; a signed KILL does", async () => {
    const { dir, cleanup } = tempDir("keys-proc-");
    cleanups.push(cleanup);
    const key = generateKey();
    writeFileSync(join(dir, "group.key"), `${key}\n`, { mode: 0o600 });
    const port = await freeUdpPort();
    const open = await watch(port);
    const keyed = await watch(port, key);
    const bot = spawnBot(
      ["-fg", "-info", `-chanPort=${port}`, "-backoff=0.2", "-lifespan=60", "-heartbeat=0.5", "-keyFile=group.key"],
      dir,
    );
    const beat = await until("a verified BEAT", () => keyed.heard.find((m) => m.opcode === "BEAT" && m.verified));
    const id = beat.sender;
    // What anyone on the network could send: the raw datagram, and a well-formed KILL to the bot.
    open.transport.send(encodeLine("x 0 KILL *"));
    open.channel.send("KILL", id);
    const beatsBefore = keyed.heard.filter((m) => m.sender === id && m.opcode === "BEAT").length;
    await until(
      "two more BEATs",
      () => keyed.heard.filter((m) => m.sender === id && m.opcode === "BEAT").length >= beatsBefore + 2,
    );
    expect(bot.proc.exitCode).toBeNull();
    // The log says so (once per heartbeat at most): both refused as unsigned.
    const refusedInLog = () =>
      [...bot.output().matchAll(/Refused datagrams \(unsigned, forged or replayed\): unsigned (\d+)/g)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
    await until("the refusals in the bot's log", () => refusedInLog() === 2);
    // The unkeyed watcher still parses the bot's messages (the trailer taken off, unverified).
    expect(open.heard.find((m) => m.sender === id && m.opcode === "BEAT")?.text).toMatch(
      / BEAT \* Beep state=asimov prior=\d+$/,
    );
    keyed.channel.send("KILL", id);
    expect(await bot.exited).toBe(255);
    expect(bot.output()).toContain(`killed by HUMAN-7e57`);
    expect(bot.output()).not.toContain(key);
  });

  it("refuses a key file others can read (exit 2, one line); -keygen prints a key; MCASTBOTS_KEYS works", async () => {
    const { dir, cleanup } = tempDir("keys-proc-");
    cleanups.push(cleanup);
    const key = generateKey();
    const file = join(dir, "group.key");
    writeFileSync(file, `${key}\n`, { mode: 0o644 });
    const bad = spawnSync(process.execPath, [join(REPO, "dnabot"), "-fg", `-keyFile=${file}`], {
      cwd: dir,
      env: ENV,
      encoding: "utf8",
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split("\n")).toEqual([
      `dnabot: key file ${file} can be read or written by other users (mode 644): run chmod 600 ${file}`,
    ]);
    for (const prog of ["dnabot", "supervisor"]) {
      const gen = spawnSync(process.execPath, [join(REPO, prog), "-keygen"], { cwd: dir, env: ENV, encoding: "utf8" });
      expect(gen.status).toBe(0);
      expect(Buffer.from(gen.stdout.trim(), "base64")).toHaveLength(32);
    }
    const port = await freeUdpPort();
    const keyed = await watch(port, key);
    const bot = spawnBot(["-fg", `-chanPort=${port}`, "-backoff=0.1", "-lifespan=1", "-heartbeat=0.5"], dir, {
      ...ENV,
      MCASTBOTS_KEYS: key,
    });
    expect(await bot.exited).toBe(0);
    const exit = await until("a verified EXIT", () => keyed.heard.find((m) => m.opcode === "EXIT"));
    expect(exit.verified).toBe(true);
  });
});
